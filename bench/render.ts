// Render time of a 30-object Helm chart (and of the 4-object overlay) at the PR's head commit:
// the whole use case, from the GitHub stand-in's git tree and blobs through the pinned helm (or
// kustomize) to the manifest checks, with the same binaries as the worker's layer (for this
// machine's architecture). Prints the median and the slowest of N runs after a warm-up.
import { ProbotOctokit } from "probot";
import { parse as parseYaml } from "yaml";
import { GitHubTree } from "../src/adapters/github/tree.js";
import { ChildToolRunner } from "../src/adapters/tools/runner.js";
import { parseRepoConfig } from "../src/config/parse.js";
import { parseTenantManifests } from "../src/manifests/parse.js";
import { loadSettings } from "../src/runtime/settings.js";
import { renderSource } from "../src/sources/render.js";
import { startGitHubStandIn } from "../test/support/github-standin.js";
import { renderToolsDir } from "../test/support/render-tools.js";
import { chart, overlay } from "../test/support/sources.js";

const RUNS = 15;
const SHA = "abcdef0123456789abcdef0123456789abcdef01";
const toolsDir = renderToolsDir();
if (!toolsDir) {
  console.log("render bench skipped: the render tools are not built (npm run render:build)");
  process.exit(0);
}
const settings = loadSettings({ PRENV_RENDER_TOOLS: toolsDir }).render;
const standIn = await startGitHubStandIn();
try {
  // 27 extra ConfigMaps + Deployment, Service and ConfigMap: 30 objects.
  standIn.contents("bench", "chart", chart({ extraConfigMaps: 27 }), SHA, {
    expect: { get: { optional: true }, tree: { optional: true } },
  });
  standIn.contents("bench", "overlay", overlay(), SHA, {
    expect: { get: { optional: true }, tree: { optional: true } },
  });
  const octokit = new ProbotOctokit({
    baseUrl: standIn.url,
    retry: { enabled: false },
    throttle: { enabled: false },
  });
  const vars = {
    pr: 7,
    sha: SHA,
    shortSha: SHA.slice(0, 7),
    branch: "bench",
    branchSlug: "bench",
    namespace: "pr-7-bench",
    host: "pr-7-bench.preview.test",
    image: "registry.invalid/web:abcdef0",
  };
  for (const [repo, config] of [
    [
      "chart",
      "deploy:\n  helm:\n    chart: deploy/chart\n    values: [deploy/values-preview.yaml]\n    set: { replicas: 0 }\n",
    ],
    [
      "overlay",
      "deploy:\n  image: registry.invalid/web:abcdef0\n  kustomize: { path: deploy/overlays/preview, images: [web] }\n",
    ],
  ] as const) {
    const parsed = parseRepoConfig(parseYaml(config));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const deps = {
      repository: new GitHubTree(octokit, { owner: "bench", repo }),
      tools: new ChildToolRunner({ ...settings, toolsDir }),
      kubeVersion: () => Promise.resolve("v1.34"),
    };
    const once = async () => {
      const started = performance.now();
      const files = await renderSource(
        parsed.config.deploy,
        { commit: SHA, namespace: vars.namespace, isolation: "namespace", vars },
        deps,
      );
      const checked = parseTenantManifests(files, {
        namespace: vars.namespace,
        labels: {},
        isolation: "namespace",
        ingressClass: "nginx",
        vars,
        templating: false,
      });
      if (!checked.ok) throw new Error(checked.errors.map((e) => e.message).join("\n"));
      return { ms: performance.now() - started, objects: checked.objects.length };
    };
    await once();
    const times: number[] = [];
    let objects = 0;
    for (let i = 0; i < RUNS; i++) {
      const r = await once();
      times.push(r.ms);
      objects = r.objects;
    }
    times.sort((a, b) => a - b);
    const what = repo === "chart" ? "helm template" : "kustomize build";
    console.log(
      `render ${what}: ${objects} objects, median ${times[Math.floor(RUNS / 2)]!.toFixed(0)} ms, slowest ${times.at(-1)!.toFixed(0)} ms (${RUNS} runs, tree + blobs + render + checks)`,
    );
  }
} finally {
  await standIn.close();
}
