// A Helm chart and a Kustomize overlay as a repository keeps them, for the render tests, the
// cluster scenarios and the benchmark. Both describe the same small app (a Deployment, its
// Service and a ConfigMap) under the restricted Pod Security profile.

const POD_SECURITY = `      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: RuntimeDefault } }`;
const CONTAINER_SECURITY = `          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: [ALL] } }`;

/** deploy/chart (a chart named web) and deploy/values-preview.yaml. */
export function chart(opts: { chartYaml?: string; extraConfigMaps?: number } = {}): Record<string, string> {
  const files: Record<string, string> = {
    "README.md": "# web\n",
    "deploy/chart/Chart.yaml": opts.chartYaml ?? "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "deploy/chart/values.yaml":
      "replicas: 1\ngreeting: chart\nimage:\n  repository: registry.invalid/web\n  tag: latest\n",
    "deploy/chart/.helmignore": "*.md\n",
    "deploy/chart/templates/_helpers.tpl": '{{- define "web.name" -}}{{ .Release.Name }}-web{{- end }}\n',
    "deploy/chart/templates/NOTES.txt": "Preview at {{ .Values.prenv.host }}\n",
    "deploy/chart/templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "web.name" . }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
${POD_SECURITY}
      containers:
        - name: web
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          envFrom: [{ configMapRef: { name: {{ include "web.name" . }}-settings } }]
${CONTAINER_SECURITY}
`,
    "deploy/chart/templates/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: { app: web }
  ports: [{ port: 8080 }]
`,
    "deploy/chart/templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "web.name" . }}-settings
data:
  host: {{ .Values.prenv.host | quote }}
  namespace: {{ .Values.prenv.namespace | quote }}
  pr: {{ .Values.prenv.pr | quote }}
  sha: {{ .Values.prenv.sha | quote }}
  shortSha: {{ .Values.prenv.shortSha | quote }}
  branchSlug: {{ .Values.prenv.branchSlug | quote }}
  image: {{ .Values.prenv.image | quote }}
  greeting: {{ .Values.greeting | quote }}
  literal: {{ "{{ not a template }}" | quote }}
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
`,
    "deploy/values-preview.yaml": "greeting: preview\n",
  };
  for (let i = 0; i < (opts.extraConfigMaps ?? 0); i++) {
    files[`deploy/chart/templates/extra-${i}.yaml`] =
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra-${i}\ndata:\n  index: "${i}"\n  host: {{ .Values.prenv.host | quote }}\n`;
  }
  return files;
}

/** deploy/base and deploy/overlays/preview, the overlay adding a ConfigMap and a replicas patch. */
export function overlay(): Record<string, string> {
  return {
    "README.md": "# web\n",
    "deploy/base/kustomization.yaml": "resources: [deployment.yaml, service.yaml]\n",
    "deploy/base/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
${POD_SECURITY}
      containers:
        - name: web
          image: web
          envFrom: [{ configMapRef: { name: prenv } }, { configMapRef: { name: settings } }]
${CONTAINER_SECURITY}
`,
    "deploy/base/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: { app: web }
  ports: [{ port: 8080 }]
`,
    "deploy/overlays/preview/kustomization.yaml": `resources: [../../base]
patches:
  - path: replicas.yaml
configMapGenerator:
  - name: settings
    literals: [mode=preview, "literal={{ not a template }}"]
    options: { disableNameSuffixHash: true }
`,
    "deploy/overlays/preview/replicas.yaml":
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\nspec: { replicas: 0 }\n",
  };
}
