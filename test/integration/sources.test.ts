// Rendering a pull request's Helm chart or Kustomize overlay with the real pinned helm and
// kustomize, reading the repository through the real GitHub adapter from the GitHub stand-in
// (trees and blobs at the head commit), then the same manifest checks as plain manifests. The
// hostile charts and overlays of the issue are here: each is refused or stopped with a message
// that says why, and nothing comes out of it.
import { ProbotOctokit } from "probot";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GitHubTree } from "../../src/adapters/github/tree.js";
import { ChildToolRunner } from "../../src/adapters/tools/runner.js";
import { parseRepoConfig } from "../../src/config/parse.js";
import type { RepoConfig } from "../../src/config/schema.js";
import type { RepoFile as ManifestFile } from "../../src/manifests/files.js";
import { PrenvError } from "../../src/errors.js";
import { parseTenantManifests } from "../../src/manifests/parse.js";
import type { RenderDeps } from "../../src/sources/ports.js";
import { renderSource } from "../../src/sources/render.js";
import { SOURCE_LIMITS } from "../../src/sources/tree.js";
import { startGitHubStandIn, type GitHubStandIn, type RepoFile } from "../support/github-standin.js";
import { renderToolsDir } from "../support/render-tools.js";
import { chart, overlay } from "../support/sources.js";

const toolsDir = renderToolsDir();
const SHA = "abcdef0123456789abcdef0123456789abcdef01";
const NAMESPACE = "pr-7-acme-web-1a2b3c";
const HOST = `${NAMESPACE}.preview.test`;
const VARS = {
  pr: 7,
  sha: SHA,
  shortSha: SHA.slice(0, 7),
  branch: "feature/Login",
  branchSlug: "feature-login",
  namespace: NAMESPACE,
  host: HOST,
};

let standIn: GitHubStandIn;
let repoCount = 0;

beforeAll(async () => {
  standIn = await startGitHubStandIn();
});
afterAll(async () => {
  await standIn.close();
});

function deployConfig(yaml: string): RepoConfig {
  // The config parser takes parsed YAML, as Probot hands it over.
  const parsed = parseRepoConfig(parseYaml(yaml));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

function deps(
  files: Record<string, RepoFile>,
  limits: Partial<{ timeoutMs: number; maxOutputBytes: number }> = {},
) {
  const repo = `web-${++repoCount}`;
  standIn.contents("acme", repo, files, SHA, {
    expect: { get: { optional: true }, tree: { optional: true } },
  });
  const octokit = new ProbotOctokit({
    baseUrl: standIn.url,
    retry: { enabled: false },
    throttle: { enabled: false },
  });
  const render: RenderDeps = {
    repository: new GitHubTree(octokit, { owner: "acme", repo }),
    tools: new ChildToolRunner({
      toolsDir: toolsDir!,
      timeoutMs: limits.timeoutMs ?? 10_000,
      maxOutputBytes: limits.maxOutputBytes ?? 4 * 1024 * 1024,
      memoryBytes: 512 * 1024 * 1024,
    }),
    kubeVersion: () => Promise.resolve("v1.34"),
  };
  return render;
}

async function render(
  config: string,
  files: Record<string, RepoFile>,
  opts: {
    isolation?: "namespace" | "vcluster";
    timeoutMs?: number;
    maxOutputBytes?: number;
    image?: string;
  } = {},
): Promise<ManifestFile[]> {
  const parsed = deployConfig(config);
  return renderSource(
    parsed.deploy,
    {
      commit: SHA,
      namespace: NAMESPACE,
      isolation: opts.isolation ?? "namespace",
      vars: { ...VARS, image: parsed.deploy.image },
    },
    deps(files, opts),
  );
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof PrenvError && err.code === "MANIFEST_INVALID") return err.message;
    throw err;
  }
  throw new Error("expected the render to be refused");
}

function objects(files: ManifestFile[]) {
  const parsed = parseTenantManifests(files, {
    namespace: NAMESPACE,
    labels: { "app.kubernetes.io/managed-by": "prenv" },
    isolation: "namespace",
    ingressClass: "nginx",
    vars: VARS,
    templating: false,
  });
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join("\n"));
  return parsed.objects;
}

const HELM = `
deploy:
  image: ghcr.io/acme/web:{{shortSha}}
  helm:
    chart: deploy/chart
    values: [deploy/values-preview.yaml]
    set: { replicas: 2, image.tag: "{{sha}}" }
`;

describe.skipIf(!toolsDir)("Helm charts", () => {
  it("renders the chart at the head commit with its values, the values files in order, set, and prenv's values", async () => {
    const files = await render(HELM, chart());
    expect(files.map((f) => f.path).sort()).toEqual([
      "deploy/chart/templates/configmap.yaml (rendered)",
      "deploy/chart/templates/deployment.yaml (rendered)",
      "deploy/chart/templates/service.yaml (rendered)",
    ]);
    const byKind = new Map(objects(files).map((o) => [o.object.kind, o]));
    const deployment = byKind.get("Deployment")!.object as unknown as {
      metadata: { name: string; namespace: string };
      spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
    };
    expect(deployment.metadata).toMatchObject({ name: "pr-7-web", namespace: NAMESPACE });
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.template.spec.containers[0]!.image).toBe(`registry.invalid/web:${SHA}`);
    const cm = byKind.get("ConfigMap")!.object as unknown as { data: Record<string, string> };
    expect(cm.data).toEqual({
      host: HOST,
      namespace: NAMESPACE,
      pr: "7",
      sha: SHA,
      shortSha: SHA.slice(0, 7),
      branchSlug: "feature-login",
      image: `ghcr.io/acme/web:${SHA.slice(0, 7)}`,
      // values.yaml says "chart", the values file says "preview": the file wins
      greeting: "preview",
      // the chart prints braces; they stay data, never Handlebars
      literal: "{{ not a template }}",
      kube: "v1.34",
    });
  });

  it("runs no hooks: a hook template is not part of the output", async () => {
    const files = await render(HELM, {
      ...chart(),
      "deploy/chart/templates/migrate.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations: { "helm.sh/hook": pre-install }
spec: { template: { spec: { restartPolicy: Never, containers: [{ name: m, image: busybox }] } } }
`,
    });
    expect(files.some((f) => f.path.includes("migrate"))).toBe(false);
  });

  it("shows a template error with the file and line in the repository", async () => {
    const message = await refusal(
      render(HELM, {
        ...chart(),
        "deploy/chart/templates/broken.yaml":
          "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.nope.name }}\n",
      }),
    );
    expect(message).toMatch(/^deploy\/chart\/templates\/broken\.yaml line 4: helm template failed: /);
    expect(message).toContain("nil pointer");
    const yaml = await refusal(
      render(HELM, {
        ...chart(),
        "deploy/chart/templates/bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  oops\n",
      }),
    );
    expect(yaml).toMatch(
      /^deploy\/chart\/templates\/bad\.yaml \(rendered\) line \d+: helm template failed: YAML parse error/,
    );
    const failed = await refusal(
      render(HELM, { ...chart(), "deploy/chart/templates/f.yaml": '{{ fail "set a database name" }}\n' }),
    );
    expect(failed).toMatch(/^deploy\/chart\/templates\/f\.yaml line 1: .*set a database name/);
  });

  it("reads vendored dependencies under charts/ and refuses missing ones with helm's message", async () => {
    const withDep = chart({
      chartYaml:
        "apiVersion: v2\nname: web\nversion: 0.1.0\ndependencies:\n  - name: redis\n    version: 1.0.0\n    repository: https://charts.example.invalid\n",
    });
    const message = await refusal(render(HELM, withDep));
    expect(message).toMatch(/helm template failed: .*redis/);
    const vendored = await render(HELM, {
      ...withDep,
      "deploy/chart/charts/redis/Chart.yaml": "apiVersion: v2\nname: redis\nversion: 1.0.0\n",
      "deploy/chart/charts/redis/templates/svc.yaml":
        "apiVersion: v1\nkind: Service\nmetadata: { name: redis }\nspec: { ports: [{ port: 6379 }] }\n",
    });
    expect(vendored.map((f) => f.path)).toContain("deploy/chart/charts/redis/templates/svc.yaml (rendered)");
  });

  it("says so when the installation has no render tools", async () => {
    const parsed = deployConfig(HELM);
    const message = await refusal(
      renderSource(
        parsed.deploy,
        { commit: SHA, namespace: NAMESPACE, isolation: "namespace", vars: VARS },
        undefined,
      ),
    );
    expect(message).toMatch(/cannot render Helm charts.*PRENV_RENDER_TOOLS/);
  });
});

describe.skipIf(!toolsDir)("hostile charts", () => {
  it("lookup finds nothing: helm has no cluster to ask", async () => {
    const files = await render(HELM, {
      ...chart(),
      "deploy/chart/templates/steal.yaml": `apiVersion: v1
kind: ConfigMap
metadata: { name: steal }
data:
  secret: {{ (lookup "v1" "Secret" "kube-system" "") | toJson | quote }}
  ns: {{ (lookup "v1" "Namespace" "" "kube-system") | toJson | quote }}
`,
    });
    const steal = objects(files).find((o) => o.object.metadata.name === "steal")!.object as unknown as {
      data: Record<string, string>;
    };
    expect(steal.data).toEqual({ secret: "{}", ns: "{}" });
  });

  it(".Files reads nothing outside the chart", async () => {
    const files = await render(HELM, {
      ...chart(),
      "deploy/secret.txt": "TOP-SECRET",
      "deploy/chart/templates/files.yaml": `apiVersion: v1
kind: ConfigMap
metadata: { name: files }
data:
  up: {{ .Files.Get "../secret.txt" | quote }}
  abs: {{ .Files.Get "/etc/passwd" | quote }}
  glob: {{ .Files.Glob "../**" | toJson | quote }}
`,
    });
    expect(JSON.stringify(files)).not.toContain("TOP-SECRET");
    expect(JSON.stringify(files)).not.toContain("root:");
  });

  it("a loop that never ends is stopped at the time limit", async () => {
    const message = await refusal(
      render(
        HELM,
        {
          ...chart(),
          "deploy/chart/templates/spin.yaml":
            "{{- range $a := until 2000 }}{{- range $b := until 2000 }}{{- range $c := until 2000 }}{{- end }}{{- end }}{{- end }}\n",
        },
        { timeoutMs: 2000 },
      ),
    );
    expect(message).toMatch(/helm template did not finish within 2 s and was stopped/);
  });

  it("until with a huge number is stopped at the memory limit", async () => {
    const message = await refusal(
      render(HELM, {
        ...chart(),
        "deploy/chart/templates/until.yaml":
          "{{- range $i := until 100000000000 }}\n# {{ $i }}\n{{- end }}\n",
      }),
    );
    expect(message).toMatch(/helm template used more than its 512 MiB of memory and was stopped/);
  });

  it("recursion through include ends with helm's error, naming the file and line", async () => {
    const message = await refusal(
      render(HELM, {
        ...chart(),
        "deploy/chart/templates/_rec.tpl": '{{- define "rec" }}{{ include "rec" . }}{{ end }}',
        "deploy/chart/templates/rec.yaml": '{{ include "rec" . }}\n',
      }),
    );
    expect(message).toMatch(/^deploy\/chart\/templates\/rec\.yaml line 1: helm template failed: /);
    expect(message).toContain("nested reference");
    expect(message.length).toBeLessThan(800);
  });

  it("gigabytes of output are stopped (memory), and tens of megabytes at the output limit", async () => {
    const gigabytes = await refusal(
      render(HELM, {
        ...chart(),
        "deploy/chart/templates/huge.yaml":
          '{{- range $i := until 1000000 }}\n# {{ repeat 1000 "x" }}\n{{- end }}\n',
      }),
    );
    expect(gigabytes).toMatch(/was stopped/);
    const megabytes = await refusal(
      render(
        HELM,
        {
          ...chart(),
          "deploy/chart/templates/big.yaml":
            '{{- range $i := until 20000 }}\n# {{ repeat 1000 "x" }}\n{{- end }}\n',
        },
        { maxOutputBytes: 4 * 1024 * 1024 },
      ),
    );
    expect(megabytes).toMatch(/helm template printed more than 4 MiB and was stopped/);
  });

  it("a symbolic link out of the chart is refused before helm runs", async () => {
    const message = await refusal(
      render(HELM, {
        ...chart(),
        "deploy/secret.txt": "TOP-SECRET",
        "deploy/chart/files/s.txt": { symlink: "../../secret.txt" },
      }),
    );
    expect(message).toMatch(
      /deploy\/chart\/files\/s\.txt is a symbolic link to "\.\.\/\.\.\/secret\.txt", outside deploy\/chart/,
    );
    const inside = await render(HELM, {
      ...chart(),
      "deploy/chart/values-link.yaml": { symlink: "values.yaml" },
    });
    expect(inside.length).toBeGreaterThan(0);
  });

  it("a chart over the file limit is refused", async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i <= SOURCE_LIMITS.maxFiles; i++) many[`deploy/chart/files/f${i}.txt`] = "x";
    const message = await refusal(render(HELM, { ...chart(), ...many }));
    expect(message).toMatch(/More than 300 files would be read/);
  });
});

const KUSTOMIZE = `
deploy:
  image: ghcr.io/acme/web:{{shortSha}}
  kustomize:
    path: deploy/overlays/preview
    images: [web]
`;

describe.skipIf(!toolsDir)("Kustomize overlays", () => {
  it("builds the overlay with its base, adds the prenv ConfigMap and the images override", async () => {
    const files = await render(KUSTOMIZE, overlay());
    expect(files.map((f) => f.path)).toEqual(["deploy/overlays/preview/kustomization.yaml (rendered)"]);
    const byName = new Map(
      objects(files).map((o) => [`${o.object.kind}/${o.object.metadata.name}`, o.object]),
    );
    expect([...byName.keys()].sort()).toEqual([
      "ConfigMap/prenv",
      "ConfigMap/settings",
      "Deployment/web",
      "Service/web",
    ]);
    const web = byName.get("Deployment/web") as unknown as {
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    expect(web.spec.template.spec.containers[0]!.image).toBe(`ghcr.io/acme/web:${SHA.slice(0, 7)}`);
    expect((byName.get("ConfigMap/prenv") as unknown as { data: Record<string, string> }).data).toMatchObject(
      {
        host: HOST,
        pr: "7",
        sha: SHA,
      },
    );
    expect((byName.get("ConfigMap/settings") as unknown as { data: Record<string, string> }).data).toEqual({
      mode: "preview",
      literal: "{{ not a template }}",
    });
  });

  it("shows kustomize's error with the repository path", async () => {
    const files = overlay();
    files["deploy/overlays/preview/kustomization.yaml"] = "resources: [../../base, missing.yaml]\n";
    const message = await refusal(render(KUSTOMIZE, files));
    expect(message).toMatch(
      /kustomization\.yaml: resources entry "missing\.yaml" does not exist at commit abcdef0/,
    );
    files["deploy/overlays/preview/kustomization.yaml"] =
      "resources: [../../base]\npatches: [{ path: p.yaml }]\n";
    files["deploy/overlays/preview/p.yaml"] =
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: nope }\n";
    const failed = await refusal(render(KUSTOMIZE, files));
    expect(failed).toMatch(/^kustomize build failed: .*nope/);
    expect(failed).not.toMatch(/prenv-render-|\/tmp\//);
  });
});

describe.skipIf(!toolsDir)("hostile overlays", () => {
  it("a remote base is refused", async () => {
    for (const remote of [
      "https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.0.0",
      "github.com/acme/infra/base?ref=main",
      "git@github.com:acme/infra.git/base",
    ]) {
      const files = overlay();
      files["deploy/overlays/preview/kustomization.yaml"] = `resources:\n  - ${JSON.stringify(remote)}\n`;
      expect(await refusal(render(KUSTOMIZE, files))).toMatch(
        /is a remote resource; prenv builds only from this repository/,
      );
    }
  });

  it("a base outside the repository is refused", async () => {
    const files = overlay();
    files["deploy/overlays/preview/kustomization.yaml"] = "resources: [../../../../../etc/kubernetes]\n";
    expect(await refusal(render(KUSTOMIZE, files))).toMatch(
      /"\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/etc\/kubernetes" is outside the repository/,
    );
    files["deploy/overlays/preview/kustomization.yaml"] = "resources: [/etc/kubernetes]\n";
    expect(await refusal(render(KUSTOMIZE, files))).toMatch(/is outside the repository/);
  });

  it("a symbolic link escaping the repository (or its kustomization's directory) is refused", async () => {
    const files: Record<string, RepoFile> = {
      ...overlay(),
      "deploy/overlays/preview/base": { symlink: "../../../.." },
    };
    files["deploy/overlays/preview/kustomization.yaml"] = "resources: [base/etc]\n";
    expect(await refusal(render(KUSTOMIZE, files))).toMatch(
      /is a symbolic link to "\.\.\/\.\.\/\.\.\/\.\.", outside the repository/,
    );
    const patch: Record<string, RepoFile> = {
      ...overlay(),
      "deploy/overlays/preview/p.yaml": { symlink: "../../secret.yaml" },
      "deploy/secret.yaml": "TOP-SECRET",
    };
    patch["deploy/overlays/preview/kustomization.yaml"] =
      "resources: [../../base]\npatches: [{ path: p.yaml }]\n";
    expect(await refusal(render(KUSTOMIZE, patch))).toMatch(
      /p\.yaml is a symbolic link .* outside deploy\/overlays\/preview/,
    );
  });

  it("helmCharts (which download charts) are refused", async () => {
    const files = overlay();
    files["deploy/overlays/preview/kustomization.yaml"] =
      "helmCharts:\n  - name: redis\n    repo: https://charts.example.invalid\n";
    expect(await refusal(render(KUSTOMIZE, files))).toMatch(
      /helmCharts downloads charts, which prenv does not allow/,
    );
  });
});
