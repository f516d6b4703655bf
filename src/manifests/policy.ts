// The tenant policy: what a pull request's objects may not do, whatever the cluster would allow.
// Objects outside the preview's namespace or scope (in namespace isolation), prenv's own guards,
// pods that reach into the node, routing that takes other traffic, and prenv's own identities.
import { CONFIG_FILE } from "../config/schema.js";
import { describe, excerpt } from "./errors.js";
import type { Finding } from "./identify.js";
import type { KubeObject } from "./objects.js";
import { dig, group, isMapping, isSet, mappings, type Mapping } from "./values.js";

/** What the policy needs to know of the preview. */
export interface PolicyOptions {
  namespace: string;
  isolation: "namespace" | "vcluster";
  /** The operator's IngressClass: the only one a preview's Ingress may name. */
  ingressClass: string;
}

/** Service accounts prenv gives an environment; the PR's pods may not run as them or change them. */
export const RESERVED_SERVICE_ACCOUNTS: readonly string[] = Object.freeze(["prenv-tenant", "vc-vcluster"]);

/**
 * Annotation prefixes an Ingress of a preview may carry. Everything else is refused: controller
 * annotations (ingress-nginx server-alias or snippets, Traefik router rules, ALB conditions, ...) can
 * route other hosts or run configuration, and what each controller honours cannot be known here.
 */
export const INGRESS_ANNOTATION_PREFIXES: readonly string[] = Object.freeze([
  "app.kubernetes.io/",
  "kubectl.kubernetes.io/",
  "prenv.dev/",
]);

/**
 * Kinds that are not namespaced in Kubernetes (core and common built-in API groups). In
 * `isolation: namespace` a manifest cannot create any of these; in `vcluster` they go to the
 * virtual cluster. Custom cluster-scoped kinds not listed here are stopped by the tenant's RBAC.
 */
export const CLUSTER_SCOPED_KINDS: readonly string[] = Object.freeze([
  "APIService",
  "CertificateSigningRequest",
  "ClusterRole",
  "ClusterRoleBinding",
  "ClusterTrustBundle",
  "ComponentStatus",
  "CSIDriver",
  "CSINode",
  "CustomResourceDefinition",
  "DeviceClass",
  "FlowSchema",
  "IngressClass",
  "IPAddress",
  "MutatingAdmissionPolicy",
  "MutatingAdmissionPolicyBinding",
  "MutatingWebhookConfiguration",
  "Namespace",
  "Node",
  "PersistentVolume",
  "PodSecurityPolicy",
  "PriorityClass",
  "PriorityLevelConfiguration",
  "ResourceSlice",
  "RuntimeClass",
  "SelfSubjectAccessReview",
  "SelfSubjectReview",
  "SelfSubjectRulesReview",
  "ServiceCIDR",
  "StorageClass",
  "StorageVersion",
  "StorageVersionMigration",
  "SubjectAccessReview",
  "TokenReview",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "ValidatingWebhookConfiguration",
  "VolumeAttachment",
  "VolumeAttributesClass",
]);

/** Kinds prenv itself puts in every preview namespace (the guards); a tenant cannot replace them. */
export const PRENV_MANAGED_KINDS: readonly string[] = Object.freeze([
  "ResourceQuota",
  "LimitRange",
  "NetworkPolicy",
  "Role",
  "RoleBinding",
]);

const CLUSTER_SCOPED = new Set(CLUSTER_SCOPED_KINDS);
const MANAGED = new Set(PRENV_MANAGED_KINDS);

/** Where built-in workload kinds keep their pod spec. */
const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: ["spec"],
  PodTemplate: ["template", "spec"],
  Deployment: ["spec", "template", "spec"],
  StatefulSet: ["spec", "template", "spec"],
  DaemonSet: ["spec", "template", "spec"],
  ReplicaSet: ["spec", "template", "spec"],
  ReplicationController: ["spec", "template", "spec"],
  Job: ["spec", "template", "spec"],
  CronJob: ["spec", "jobTemplate", "spec", "template", "spec"],
};

/** Where other kinds (Argo Rollout, Knative Service, KEDA ScaledJob, ...) usually keep one. */
const CUSTOM_POD_SPEC_PATHS: readonly (readonly string[])[] = [
  ["spec", "template", "spec"],
  ["spec", "jobTemplate", "spec", "template", "spec"],
];

const ALLOWED_CAPABILITIES = new Set(["NET_BIND_SERVICE"]);

/** Every reason to refuse `obj`; empty when the policy allows it. */
export function policyFindings(obj: KubeObject, opts: PolicyOptions): Finding[] {
  return [
    ...metadataFindings(obj.metadata),
    ...isolationFindings(obj, opts),
    ...hostAccessFindings(obj),
    ...routingFindings(obj, opts),
    ...identityFindings(obj),
  ];
}

export function isClusterScoped(kind: string): boolean {
  return CLUSTER_SCOPED.has(kind);
}

function metadataFindings(metadata: Mapping): Finding[] {
  const findings: Finding[] = [];
  if (metadata.namespace !== undefined && typeof metadata.namespace !== "string") {
    findings.push({
      code: "INVALID_OBJECT",
      problem: `metadata.namespace is ${describe(metadata.namespace)}, not text.`,
      fix: "Remove metadata.namespace; prenv sets it.",
    });
  }
  for (const field of ["labels", "annotations"] as const) {
    const map = metadata[field];
    if (map === undefined || map === null) continue;
    if (!isMapping(map)) {
      findings.push({
        code: "INVALID_OBJECT",
        problem: `metadata.${field} is ${describe(map)}, not a mapping.`,
        fix: `Write metadata.${field} as key: value pairs.`,
      });
      continue;
    }
    const bad = Object.entries(map).find(([, v]) => typeof v !== "string");
    if (bad) {
      findings.push({
        code: "INVALID_OBJECT",
        problem: `metadata.${field} value for ${excerpt(bad[0])} is ${describe(bad[1])}; ${field} values must be text.`,
        fix: 'Quote the value, e.g. "true" or "8080".',
      });
    }
  }
  return findings;
}

/** What `isolation: namespace` refuses: other scopes, prenv's own guards, other namespaces. */
function isolationFindings(obj: KubeObject, opts: PolicyOptions): Finding[] {
  if (opts.isolation !== "namespace") return [];
  const kind = obj.kind;
  if (CLUSTER_SCOPED.has(kind)) {
    return [
      {
        code: "CLUSTER_SCOPED",
        problem: `${kind} is a cluster-scoped kind; with isolation: namespace a preview can only create objects inside its own namespace.`,
        fix: `Remove it, or set isolation: vcluster in ${CONFIG_FILE} to give previews a virtual cluster where cluster-scoped objects are allowed.`,
      },
    ];
  }
  if (MANAGED.has(kind)) {
    return [
      {
        code: "MANAGED_BY_PRENV",
        problem:
          `prenv manages the ${kind} of every preview namespace (with the ResourceQuota, LimitRange, ` +
          "default-deny NetworkPolicy and the tenant's Role and RoleBinding), so manifests cannot add or change one.",
        fix: "Remove it; ask the prenv operators if the defaults do not fit, or use isolation: vcluster to manage your own.",
      },
    ];
  }
  const ns = obj.metadata.namespace;
  // An empty namespace means "unset" to Kubernetes too.
  if (typeof ns === "string" && ns !== "" && ns !== opts.namespace) {
    return [
      {
        code: "OTHER_NAMESPACE",
        problem: `metadata.namespace is ${excerpt(ns)}, but a preview can only create objects in its own namespace ${opts.namespace}.`,
        fix: "Remove metadata.namespace (prenv sets it) or use {{namespace}}.",
      },
    ];
  }
  return [];
}

/** Pod specs that reach into the node. Checked in both isolation modes: a vcluster's pods run on the host. */
function hostAccessFindings(obj: KubeObject): Finding[] {
  return podSpecs(obj).flatMap(({ path, spec }) => podFindings(path, spec));
}

function podSpecs(obj: KubeObject): { path: string; spec: Mapping }[] {
  const known = POD_SPEC_PATHS[obj.kind];
  const candidates = known ? [known] : CUSTOM_POD_SPEC_PATHS;
  const specs: { path: string; spec: Mapping }[] = [];
  for (const path of candidates) {
    const spec = dig(obj, path);
    if (isMapping(spec) && (known || Array.isArray(spec.containers)))
      specs.push({ path: path.join("."), spec });
  }
  return specs;
}

function podFindings(path: string, spec: Mapping): Finding[] {
  const findings: Finding[] = [];
  for (const flag of ["hostNetwork", "hostPID", "hostIPC"] as const) {
    if (isSet(spec[flag])) {
      findings.push({
        code: "HOST_ACCESS",
        problem: `${path}.${flag} is set, which would share the node's ${flag.slice(4)} namespace with the preview.`,
        fix: `Remove ${flag}; previews must not reach into the node.`,
      });
    }
  }
  for (const volume of mappings(spec.volumes)) {
    if (volume.hostPath !== undefined) {
      findings.push({
        code: "HOST_ACCESS",
        problem: `Volume ${excerpt(volume.name)} in ${path} is a hostPath volume, which would expose the node's file system.`,
        fix: "Use an emptyDir for scratch space or a PersistentVolumeClaim for data that must persist.",
      });
    }
  }
  for (const field of ["initContainers", "containers", "ephemeralContainers"] as const) {
    for (const container of mappings(spec[field])) findings.push(...containerFindings(path, container));
  }
  return findings;
}

function containerFindings(path: string, container: Mapping): Finding[] {
  const findings: Finding[] = [];
  const name = `Container ${excerpt(container.name)} in ${path}`;
  const sc = isMapping(container.securityContext) ? container.securityContext : {};
  if (isSet(sc.privileged)) {
    findings.push({
      code: "HOST_ACCESS",
      problem: `${name} is privileged, which gives it full control of the node.`,
      fix: "Remove securityContext.privileged; previews run under the restricted Pod Security profile.",
    });
  }
  const added =
    isMapping(sc.capabilities) && Array.isArray(sc.capabilities.add)
      ? (sc.capabilities.add as unknown[])
      : [];
  const refused = added.filter(
    (c) => typeof c !== "string" || !ALLOWED_CAPABILITIES.has(c.toUpperCase().replace(/^CAP_/, "")),
  );
  if (refused.length > 0) {
    findings.push({
      code: "HOST_ACCESS",
      problem: `${name} adds the capabilities ${refused.slice(0, 5).map(excerpt).join(", ")}${refused.length > 5 ? ", ..." : ""}; only NET_BIND_SERVICE may be added.`,
      fix: "Remove them from securityContext.capabilities.add.",
    });
  }
  for (const port of mappings(container.ports)) {
    if (isSet(port.hostPort)) {
      findings.push({
        code: "HOST_ACCESS",
        problem: `${name} binds host port ${excerpt(String(port.hostPort))} on the node.`,
        fix: "Remove hostPort and reach the container through a Service.",
      });
    }
  }
  return findings;
}

/** Services and Ingresses that would send traffic somewhere other than the preview's own pods. */
function routingFindings(obj: KubeObject, opts: PolicyOptions): Finding[] {
  const spec = isMapping(obj.spec) ? obj.spec : {};
  const findings: Finding[] = [];
  if (obj.kind === "Service" && group(obj.apiVersion) === "") {
    if (spec.type === "ExternalName") {
      findings.push({
        code: "ROUTING",
        problem:
          "A Service of type ExternalName sends traffic for its name to any host, which other workloads of the cluster may then reach through it.",
        fix: "Call the external host directly from the app, or use a Service with a selector.",
      });
    }
    if (Array.isArray(spec.externalIPs) ? spec.externalIPs.length > 0 : spec.externalIPs !== undefined) {
      findings.push({
        code: "ROUTING",
        problem: "spec.externalIPs would make every node take traffic for those addresses (CVE-2020-8554).",
        fix: "Remove spec.externalIPs; the preview URL reaches the Service through prenv's routing.",
      });
    }
  }
  if (obj.kind === "Ingress" && group(obj.apiVersion) === "networking.k8s.io") {
    const className = spec.ingressClassName;
    if (className !== undefined && className !== opts.ingressClass) {
      findings.push({
        code: "ROUTING",
        problem: `spec.ingressClassName is ${typeof className === "string" ? excerpt(className) : describe(className)}; previews may only use this installation's class ${excerpt(opts.ingressClass)}.`,
        fix: "Remove spec.ingressClassName (prenv sets it).",
      });
    }
    const annotations = isMapping(obj.metadata.annotations) ? Object.keys(obj.metadata.annotations) : [];
    const foreign = annotations.filter(
      (k) => k.includes("/") && !INGRESS_ANNOTATION_PREFIXES.some((p) => k.startsWith(p)),
    );
    if (foreign.length > 0) {
      findings.push({
        code: "ROUTING",
        problem: `The annotations ${foreign.slice(0, 5).map(excerpt).join(", ")}${foreign.length > 5 ? ", ..." : ""} configure an ingress controller, which can route other hosts or run configuration on the shared controller.`,
        fix: "Remove them; a preview's Ingress may only name its host, paths and Services.",
      });
    }
  }
  return findings;
}

/** Pods that would run as, and objects that would change, the identities prenv gives the environment. */
function identityFindings(obj: KubeObject): Finding[] {
  if (obj.kind === "ServiceAccount" && group(obj.apiVersion) === "") {
    return RESERVED_SERVICE_ACCOUNTS.includes(obj.metadata.name)
      ? [
          {
            code: "IDENTITY",
            problem: `The service account ${obj.metadata.name} is prenv's own; manifests cannot create or change it.`,
            fix: "Give your app's service account another name.",
          },
        ]
      : [];
  }
  return podSpecs(obj).flatMap(({ path, spec }) => {
    const account = spec.serviceAccountName ?? spec.serviceAccount;
    return typeof account === "string" && RESERVED_SERVICE_ACCOUNTS.includes(account)
      ? [
          {
            code: "IDENTITY" as const,
            problem: `${path} runs as the service account ${account}, which holds prenv's rights in the namespace; its token would be mounted into your pods.`,
            fix: "Remove serviceAccountName, or use a service account of your own.",
          },
        ]
      : [];
  });
}
