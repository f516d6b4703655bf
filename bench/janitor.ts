// Janitor API cost: how many GitHub and Kubernetes requests one janitor pass makes for N
// environments across R repositories, measured against a real API server (the test control
// plane) and the GitHub stand-in. Environments are namespaces carrying prenv's labels and
// annotations; 20% of their pull requests are closed, so that share gets a reconcile job.
import { CoreV1Api, KubeConfig, type RequestContext } from "@kubernetes/client-node";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubernetesCluster } from "../src/adapters/kubernetes/cluster.js";
import { loadKubeConfig } from "../src/adapters/kubernetes/kubeconfig.js";
import { runSweep } from "../src/runtime/janitor.js";
import { ADMIN_CONTEXT, BOT_CONTEXT, startControlPlane } from "../test/cluster/harness/controlplane.js";
import { startGitHubStandIn } from "../test/support/github-standin.js";
import { testProbot } from "../test/support/probot.js";

class CountingKubeConfig extends KubeConfig {
  requests = 0;
  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    this.requests++;
    await super.applySecurityAuthentication(context);
  }
}

const INSTALLATIONS = 4;
/** The repository id GitHub reports for bench/repo-<r>, and the one its namespaces record. */
const repoId = (repo: string) => 1000 + Number(repo.replace(/^repo-/, ""));
const runDir = mkdtempSync(join(tmpdir(), "prenv-bench-"));
const plane = await startControlPlane({ runDir, applyRbac: true });
const standIn = await startGitHubStandIn();
try {
  const admin = loadKubeConfig(plane.kubeconfigPath, ADMIN_CONTEXT);
  const core = admin.makeApiClient(CoreV1Api);
  const bot = new CountingKubeConfig();
  bot.loadFromFile(plane.kubeconfigPath);
  bot.setCurrentContext(BOT_CONTEXT);

  standIn.installationAuth();
  const open = new Map<string, number[]>();
  standIn.route("GET", "/repos/:owner/:repo/pulls", (req) => {
    const numbers = open.get(`${req.params.owner}/${req.params.repo}`) ?? [];
    const id = repoId(req.params.repo!);
    return { body: numbers.map((number) => ({ number, state: "open", base: { repo: { id } } })) };
  });
  const app = () => testProbot({ baseUrl: standIn.url });

  let created = 0;
  async function grow(total: number, repoCount: number): Promise<void> {
    const todo: Promise<unknown>[] = [];
    for (; created < total; created++) {
      const r = created % repoCount;
      const pr = created + 1;
      const key = `bench/repo-${r}`;
      if (pr % 5 !== 0) open.set(key, [...(open.get(key) ?? []), pr]);
      todo.push(
        core.createNamespace({
          body: {
            metadata: {
              name: `bench-${pr}`,
              labels: {
                "app.kubernetes.io/managed-by": "prenv",
                "prenv.dev/pr": String(pr),
                // Whose environment it is (docs/adr/0005): without it the janitor skips it.
                "prenv.dev/repo-id": String(repoId(`repo-${r}`)),
              },
              annotations: {
                "prenv.dev/repository": key,
                "prenv.dev/pr": String(pr),
                "prenv.dev/installation": String(1 + (r % INSTALLATIONS)),
                "prenv.dev/expires-at": new Date(Date.now() + 86_400_000).toISOString(),
                "prenv.dev/checked-at": new Date().toISOString(),
              },
            },
          },
        }),
      );
      if (todo.length >= 20) await Promise.all(todo.splice(0));
    }
    await Promise.all(todo);
  }

  async function measure(): Promise<Record<string, number>> {
    bot.requests = 0;
    const githubBefore = standIn.calls.length;
    let enqueued = 0;
    const cluster = new KubernetesCluster(bot);
    // A fresh App per pass: installation tokens are requested as in a cold container.
    const probot = app();
    const started = performance.now();
    const report = await runSweep({
      probot,
      cluster,
      enqueue: () => Promise.resolve(void enqueued++),
      prices: { cpuHour: 0.04048, gibHour: 0.004445, currency: "USD" },
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    const calls = standIn.calls.slice(githubBefore);
    return {
      environments: report.environments,
      repositories: report.repositories,
      github_requests: calls.length,
      github_token_requests: calls.filter((c) => c.path.includes("access_tokens")).length,
      kubernetes_requests: bot.requests,
      reconcile_jobs: enqueued,
      ms: Math.round(performance.now() - started),
    };
  }

  const rows = [];
  for (const [total, repoCount] of [
    [100, 20],
    [500, 20],
    [1000, 40],
  ] as const) {
    await grow(total, repoCount);
    rows.push(await measure());
  }
  console.log(
    JSON.stringify(
      { bench: "janitor pass (real API server, GitHub stand-in)", installations: INSTALLATIONS, rows },
      null,
      2,
    ),
  );
} finally {
  await standIn.close();
  await plane.stop();
  rmSync(runDir, { recursive: true, force: true });
}
