// The janitor decides from a look at the cluster and GitHub that is stale by the time anything
// happens. It therefore changes nothing itself: every change is a job in the PR's queue group
// (ordered with the PR's own events), and that job looks again before it acts. These tests race a
// sweep against a reopen, a push and GitHub hiccups, on the real API server, and show that a live
// environment is never deleted or rewritten by the sweep's stale view.
import { AppsV1Api, CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect } from "vitest";
import { KubernetesCluster } from "../../src/adapters/kubernetes/cluster.js";
import { readRecord } from "../../src/environment/record.js";
import type { ReconcileJob } from "../../src/jobs/job.js";
import { COMMENT_MARKER } from "../../src/report/comment.js";
import { runSweep } from "../../src/runtime/janitor.js";
import type { StandInReply } from "../support/github-standin.js";
import { pullRequestPayload } from "../support/payloads.js";
import { testSettings } from "../support/settings.js";
import { clusterTest as test } from "./harness/fixtures.js";
import { cleanupRigs, push, setup, SHA1, SHA2, web, type Setup } from "./harness/pr-rig.js";

afterEach(cleanupRigs);

/** One sweep over this PR's namespace; the jobs it asks for are returned, not run. */
async function sweepJobs(
  bot: KubeConfig,
  s: Setup,
): Promise<{ jobs: ReconcileJob[]; report: Awaited<ReturnType<typeof runSweep>> }> {
  const jobs: ReconcileJob[] = [];
  const report = await runSweep({
    probot: s.rig.probot,
    cluster: new KubernetesCluster(bot),
    enqueue: (job) => Promise.resolve(void jobs.push(job)),
    prices: testSettings().environment.prices,
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    only: (e) => e.name === s.ns,
  });
  return { jobs, report };
}

async function uid(admin: KubeConfig, ns: string): Promise<string | undefined> {
  const n = await admin
    .makeApiClient(CoreV1Api)
    .readNamespace({ name: ns })
    .catch(() => null);
  return n && !n.metadata?.deletionTimestamp ? n.metadata?.uid : undefined;
}

async function deployed(bot: KubeConfig, admin: KubeConfig): Promise<Setup> {
  const s = await setup(bot, admin);
  await s.rig.deliver("pull_request", s.opened);
  await s.rig.settle();
  expect(await uid(admin, s.ns)).toBeDefined();
  return s;
}

function pullsRoute(s: Setup, answer: () => StandInReply) {
  s.standIn.route("GET", "/repos/:owner/:repo/pulls", () => answer());
}

describe("the janitor acts only through the PR's queue group", () => {
  test("a sweep that saw the PR closed does not delete it once it is reopened and pushed to", async ({
    bot,
    admin,
  }) => {
    const s = await deployed(bot, admin);
    const before = await uid(admin, s.ns);
    // The close event is lost; the sweep sees the PR closed.
    (s.pr.pr as { state: string }).state = "closed";
    pullsRoute(s, () => ({ body: [] }));
    const { jobs, report } = await sweepJobs(bot, s);
    expect(report.reconciled).toEqual([{ namespace: s.ns, reason: "pull request closed" }]);
    // Before its job runs, the PR is reopened and pushed to.
    (s.pr.pr as { state: string }).state = "open";
    const pushed = push(s, SHA2, { "deploy/preview/web.yaml": web() });
    for (const job of jobs) await s.rig.queue.enqueue(job);
    await s.rig.deliver(
      "pull_request",
      pullRequestPayload("reopened", { owner: s.owner, repo: s.repo, number: s.number, sha: SHA2 }),
    );
    await s.rig.deliver("pull_request", pushed);
    await s.rig.settle();
    // The same namespace, never deleted, now at the new head.
    expect(await uid(admin, s.ns)).toBe(before);
    const env = await new KubernetesCluster(admin).readEnvironment(s.ns);
    expect(readRecord(env!).state?.deployedSha).toBe(SHA2);
    const comment = s.comments.comments.filter((c) => c.body.startsWith(COMMENT_MARKER));
    expect(comment).toHaveLength(1);
    expect(comment[0]!.body).toContain("ready");
    expect(comment[0]!.body).toContain(SHA2.slice(0, 7));
  });

  test("the sweep's job, run after the reopen and the push, neither deletes nor rewrites the live environment", async ({
    bot,
    admin,
  }) => {
    const s = await deployed(bot, admin);
    const before = await uid(admin, s.ns);
    (s.pr.pr as { state: string }).state = "closed";
    pullsRoute(s, () => ({ body: [] }));
    const { jobs } = await sweepJobs(bot, s);
    expect(jobs).toHaveLength(1);
    // The reopen and the push are handled first; the sweep's stale job comes last.
    (s.pr.pr as { state: string }).state = "open";
    await s.rig.deliver(
      "pull_request",
      pullRequestPayload("reopened", { owner: s.owner, repo: s.repo, number: s.number, sha: SHA1 }),
    );
    await s.rig.deliver("pull_request", push(s, SHA2, { "deploy/preview/web.yaml": web() }));
    await s.rig.settle();
    const core = admin.makeApiClient(CoreV1Api);
    const live = async () => {
      const n = await core.readNamespace({ name: s.ns });
      const web = await admin
        .makeApiClient(AppsV1Api)
        .readNamespacedDeployment({ name: "web", namespace: s.ns });
      return {
        uid: n.metadata?.uid,
        namespace: n.metadata?.resourceVersion,
        web: web.metadata?.resourceVersion,
      };
    };
    const settled = await live();
    const comment = () =>
      s.comments.comments.filter((c) => c.body.startsWith(COMMENT_MARKER)).map((c) => c.body);
    const said = comment();
    // Writes to the PR (comment, check run, Deployment); a fresh installation token is no write.
    const writes = () =>
      s.standIn.calls.filter((c) => c.method !== "GET" && !c.path.endsWith("/access_tokens")).length;
    const wrote = writes();
    for (const job of jobs) await s.rig.queue.enqueue(job);
    await s.rig.settle();
    expect(settled.uid).toBe(before);
    expect(await live()).toEqual(settled);
    expect(comment()).toEqual(said);
    expect(writes()).toBe(wrote);
    const env = await new KubernetesCluster(admin).readEnvironment(s.ns);
    expect(readRecord(env!).state?.deployedSha).toBe(SHA2);
  });

  test.for<[string, StandInReply]>([
    ["a 502", { status: 502, body: "Bad Gateway" }],
    [
      "a secondary rate limit (403)",
      {
        status: 403,
        body: {
          message:
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        },
        headers: { "retry-after": "60" },
      },
    ],
  ])("a sweep that GitHub answers with %s changes nothing", async ([, answer], { bot, admin }) => {
    const s = await deployed(bot, admin);
    const before = await uid(admin, s.ns);
    pullsRoute(s, () => answer);
    const { jobs, report } = await sweepJobs(bot, s);
    expect(jobs).toEqual([]);
    expect(report.deleted).toEqual([]);
    expect(report.skipped).toEqual([
      {
        namespace: s.ns,
        reason: expect.stringMatching(/did not list the open pull requests .* next pass/) as string,
      },
    ]);
    expect(await uid(admin, s.ns)).toBe(before);
  });

  test("a repository that looked gone keeps its environment when the purge job finds it again; a gone one loses it", async ({
    bot,
    admin,
  }) => {
    const s = await deployed(bot, admin);
    const before = await uid(admin, s.ns);
    // The sweep is told 404 (the repository was being transferred, or a stale answer).
    pullsRoute(s, () => ({ status: 404, body: { message: "Not Found" } }));
    const first = await sweepJobs(bot, s);
    expect(first.report.deleted).toEqual([{ namespace: s.ns, reason: "repository gone or App uninstalled" }]);
    expect(first.jobs).toEqual([expect.objectContaining({ purge: true, repoId: 1296269, number: s.number })]);
    // Nothing was deleted by the sweep itself.
    expect(await uid(admin, s.ns)).toBe(before);
    // When the purge job runs, GitHub shows the repository again, with the id the namespace records.
    const installation = s.standIn.repoInstallation(s.owner, s.repo, 4242);
    s.standIn.repository(s.owner, s.repo, { id: 1296269 });
    for (const job of first.jobs) await s.rig.queue.enqueue(job);
    await s.rig.settle();
    expect(await uid(admin, s.ns)).toBe(before);
    // Now it is really gone: the next sweep's purge job deletes the environment.
    installation.installationId = null;
    const second = await sweepJobs(bot, s);
    for (const job of second.jobs) await s.rig.queue.enqueue({ ...job, delivery: `${job.delivery}:2` });
    await s.rig.settle();
    expect(await uid(admin, s.ns)).toBeUndefined();
  });

  test("a purge job that finds the name taken by another repository leaves an environment of this one alone", async ({
    bot,
    admin,
  }) => {
    const s = await deployed(bot, admin);
    const before = await uid(admin, s.ns);
    // A purge job for the same PR number but another repository id finds no environment of its own.
    await s.rig.queue.enqueue({
      installationId: 4242,
      owner: s.owner,
      repo: s.repo,
      number: s.number,
      repoId: 999,
      purge: true,
      reason: "janitor: repository gone or App uninstalled",
      delivery: "purge-other",
    });
    await s.rig.settle();
    expect(await uid(admin, s.ns)).toBe(before);
  });
});
