// Regressions found by `npm run chaos` (test/chaos), each named after the seed that found it, on
// the real API server behind the chaos run's fault proxy (test/chaos/kube-faults.ts) where the
// failure is Kubernetes'.
import type { KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect } from "vitest";
import { KubernetesCluster } from "../../src/adapters/kubernetes/cluster.js";
import { parseRepoConfig } from "../../src/config/parse.js";
import { namespaceObjects } from "../../src/environment/guards.js";
import { MANAGED_BY } from "../../src/environment/record.js";
import { loadTemplates } from "../../src/runtime/templates.js";
import { faultyKubeConfig, type KubeFault } from "../chaos/kube-faults.js";
import { testSettings } from "../support/settings.js";
import { clusterTest as test } from "./harness/fixtures.js";
import { eventually } from "./harness/k8s-helpers.js";
import { cleanupRigs, push, setup, SHA1, SHA2, web } from "./harness/pr-rig.js";

const templates = loadTemplates();
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  await cleanupRigs();
});

function guards(namespace: string) {
  const r = parseRepoConfig({ resources: { cpu: "1", memory: "1Gi", pods: 5, storage: "1Gi" } });
  if (!r.ok) throw new Error("bad test config");
  return namespaceObjects(templates.guards, {
    namespace,
    labels: { ...MANAGED_BY, "prenv.dev/pr": "1" },
    annotations: { "prenv.dev/repository": "acme/web" },
    config: r.config,
    settings: testSettings({ PRENV_POD_SECURITY_VERSION: "v1.34" }).environment,
  });
}

/** The bot through the fault proxy, which gives the next requests these faults, one each. */
async function faultyBot(bot: Parameters<typeof faultyKubeConfig>[0], faults: (KubeFault | null)[]) {
  const seen: { path: string; fault: KubeFault | null }[] = [];
  const faulty = await faultyKubeConfig(bot, () => faults.shift() ?? null, {
    latencyMs: () => 300,
    onRequest: (r) => seen.push({ path: r.path, fault: r.fault }),
  });
  closers.push(() => faulty.close());
  return { cluster: new KubernetesCluster(faulty.kubeConfig), seen };
}

describe("chaos seed 1", () => {
  test("a 500, a 503 or 429 with Retry-After, a reset connection or a slow answer costs a request, not the job", async ({
    bot,
    freshName,
  }) => {
    const ns = freshName("seed1");
    // Every other request meets a fault (a request is tried at most four times).
    const faults: KubeFault[] = [
      "503",
      "reset-before",
      "429",
      "reset-after",
      "500",
      "latency",
      "503",
      "reset-after",
    ];
    const { cluster, seen } = await faultyBot(
      bot,
      faults.flatMap((f) => [f, null]),
    );
    // Namespace and guards (server-side apply), reading, listing, deleting: each met a fault first.
    await cluster.applyAsBot(guards(ns));
    expect((await cluster.readEnvironment(ns))?.name).toBe(ns);
    expect((await cluster.listEnvironments()).map((e) => e.name)).toContain(ns);
    await cluster.deleteNamespace(ns);
    await eventually(`${ns} deleted`, 60_000, async () => (await cluster.readEnvironment(ns)) === null);
    expect(seen.filter((s) => s.fault !== null && s.fault !== "latency").length).toBeGreaterThanOrEqual(7);
  });

  test("a delete whose answer was lost is not an error the second time (the namespace is already terminating)", async ({
    bot,
    freshName,
  }) => {
    const ns = freshName("seed1-delete");
    const setup = await faultyBot(bot, []);
    await setup.cluster.applyAsBot(guards(ns));
    // The read before the delete passes; the DELETE is served but its answer is lost.
    const { cluster } = await faultyBot(bot, [null, "reset-after"]);
    await cluster.deleteNamespace(ns);
    await eventually(`${ns} deleted`, 60_000, async () => (await cluster.readEnvironment(ns)) === null);
  });

  test("an API server that keeps failing still fails the job, after a few tries", async ({
    bot,
    freshName,
  }) => {
    const ns = freshName("seed1-down");
    const { cluster, seen } = await faultyBot(bot, Array<KubeFault>(10).fill("503"));
    const err = await cluster.readEnvironment(ns).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: "CLUSTER_ERROR",
      message: expect.stringContaining("HTTP 503") as string,
    });
    expect(seen).toHaveLength(4);
  });
});

describe("chaos seed 1, on GitHub", () => {
  test("a deploy still in progress when the PR moves on leaves no check run or Deployment in progress", async ({
    bot,
    admin,
  }) => {
    // SHA1's one replica cannot become ready here: its deploy says "deploying" and leaves the
    // rollout to follow-ups; the PR moves on before the rollout ends.
    const s = await setup(bot, admin, { files: { "deploy/preview/web.yaml": web(1) }, rolloutSeconds: 60 });
    await s.rig.deliver("pull_request", s.opened);
    await eventually("SHA1's deploy to say deploying", 20_000, () =>
      Promise.resolve(s.comments.comments.some((c) => c.body.includes("Preview environment: deploying"))),
    );
    const first = s.checks.checkRuns.find((c) => c.head_sha === SHA1);
    expect(first?.status).toBe("in_progress");
    // The PR moves on to SHA2, which deploys.
    await s.rig.deliver("pull_request", push(s, SHA2, { "deploy/preview/web.yaml": web() }));
    await s.rig.settle();
    const runs = Object.fromEntries(s.checks.checkRuns.map((c) => [c.head_sha, c]));
    expect(runs[SHA1]).toMatchObject({ status: "completed", conclusion: "cancelled" });
    expect(runs[SHA1]!.output.summary).toContain(`moved on to ${SHA2.slice(0, 7)}`);
    expect(runs[SHA2]).toMatchObject({ status: "completed", conclusion: "success" });
    const states = Object.fromEntries(
      s.deployments.deployments.map((d) => [d.sha, s.deployments.latestStatus(d.id)?.state]),
    );
    expect(states).toEqual({ [SHA1]: "inactive", [SHA2]: "success" });
  });
});

describe("chaos seed 7, on GitHub", () => {
  // A job that ends after it said "deploying" (the head's Deployment and check run made) but before
  // the comment that remembers them was written (killed, or the comment's write failed). The
  // comment is written last, so nothing records them: the jobs after it have to find them. One
  // replica that cannot become ready here keeps the rollout undecided at the deploy's first look.
  const undecided = { files: { "deploy/preview/web.yaml": web(1) }, rolloutSeconds: 3 };
  /** Opens the PR; its deploy says "deploying" but the comment's creation fails once, ending the job. */
  const openCutShort = async (bot: KubeConfig, admin: KubeConfig) => {
    const s = await setup(bot, admin, undecided);
    let comments = 0;
    s.rig.setGitHubFaults(({ method, path }) =>
      method === "POST" && /\/issues\/\d+\/comments$/.test(path) && ++comments === 1
        ? { status: 502, body: "Bad Gateway" }
        : undefined,
    );
    await s.rig.deliver("pull_request", s.opened);
    await expect(s.rig.settle()).rejects.toThrow(/GitHub API 502/);
    s.rig.setGitHubFaults(null);
    return s;
  };
  const byCommit = (s: Awaited<ReturnType<typeof setup>>) => ({
    checks: s.checks.checkRuns.map((c) => [c.head_sha.slice(0, 7), c.status, c.conclusion]),
    deployments: s.deployments.deployments.map((d) => [
      d.sha.slice(0, 7),
      s.deployments.latestStatus(d.id)?.state,
    ]),
  });

  test("the next attempt at the same commit, and the rollout's follow-ups, take over the Deployment and check run it made instead of leaving them in progress beside new ones", async ({
    bot,
    admin,
  }) => {
    const s = await openCutShort(bot, admin);
    expect(byCommit(s)).toEqual({
      checks: [[SHA1.slice(0, 7), "in_progress", null]],
      deployments: [[SHA1.slice(0, 7), "in_progress"]],
    });
    // The retry finds the rollout under way and leaves it to follow-ups, which end it (the replica
    // cannot start here) on the same Deployment and check run.
    await s.rig.retryFailed();
    await s.rig.settle();
    expect(byCommit(s)).toEqual({
      checks: [[SHA1.slice(0, 7), "completed", "failure"]],
      deployments: [[SHA1.slice(0, 7), "failure"]],
    });
  });

  test("the next attempt, after the PR moved on, finishes the earlier commit's Deployment and check run as superseded", async ({
    bot,
    admin,
  }) => {
    const s = await openCutShort(bot, admin);
    // The push lands before the message comes back: the retry reads SHA2 and deploys it; the
    // push's own job (after it, in the PR's order) finds it done.
    const pushed = push(s, SHA2, { "deploy/preview/web.yaml": web() });
    await s.rig.retryFailed();
    await s.rig.deliver("pull_request", pushed);
    await s.rig.settle();
    expect(byCommit(s)).toEqual({
      checks: [
        [SHA1.slice(0, 7), "completed", "cancelled"],
        [SHA2.slice(0, 7), "completed", "success"],
      ],
      deployments: [
        [SHA1.slice(0, 7), "inactive"],
        [SHA2.slice(0, 7), "success"],
      ],
    });
  });
});
