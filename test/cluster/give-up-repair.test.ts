// A job that runs out of attempts must not leave GitHub saying something the cluster does not: the
// last attempt marks the environment unsettled, prenv tells the PR it gave up (ending the head's
// check run and Deployment), and the janitor's next pass reconciles the environment, bringing the
// comment, the check run and the Deployment in line with the cluster.
import { pino } from "pino";
import { afterEach, describe, expect } from "vitest";
import { KubernetesCluster } from "../../src/adapters/kubernetes/cluster.js";
import { readRecord } from "../../src/environment/record.js";
import type { ReconcileJob } from "../../src/jobs/job.js";
import { COMMENT_MARKER } from "../../src/report/comment.js";
import { tellPullRequest, unsettleEnvironment } from "../../src/runtime/failures.js";
import { runSweep } from "../../src/runtime/janitor.js";
import { processBatch } from "../../src/runtime/sqs-batch.js";
import { loadTemplates } from "../../src/runtime/templates.js";
import { processJob } from "../../src/runtime/worker.js";
import { clusterTest as test } from "./harness/fixtures.js";
import { cleanupRigs, setup, SHA1 } from "./harness/pr-rig.js";

afterEach(cleanupRigs);

const MAX_RECEIVES = 5;

describe("a job prenv gives up on", () => {
  test("every comment write failing: the namespace is ready, GitHub does not say so; the janitor's reconcile brings GitHub in line", async ({
    bot,
    admin,
  }) => {
    const s = await setup(bot, admin);
    const log = pino({ level: "silent" });
    const templates = loadTemplates();
    const deps = {
      settings: s.settings,
      kubeConfig: bot,
      templates,
      log,
      probot: s.rig.probot,
      later: s.rig.queue,
    };
    // GitHub refuses every write of prenv's comment, creating and editing it. (A deploy decided
    // within its job says "ready" at once, so the comment's creation is the write that fails.)
    let failing = true;
    s.rig.setGitHubFaults(({ method, path }) =>
      failing && method === "POST" && /\/issues\/\d+\/comments$/.test(path)
        ? { status: 502, body: "Bad Gateway" }
        : undefined,
    );
    s.standIn.route("PATCH", `/repos/${s.owner}/${s.repo}/issues/comments/:id`, (req) => {
      if (failing) return { status: 502, body: "Bad Gateway" };
      const c = s.comments.comments.find((x) => x.id === Number(req.params.id))!;
      c.body = (req.body as { body: string }).body;
      return { body: c };
    });
    const job: ReconcileJob = {
      installationId: 4242,
      owner: s.owner,
      repo: s.repo,
      repoId: 1296269,
      number: s.number,
      reason: "pull_request.opened",
      delivery: "give-up-1",
    };
    const told: string[] = [];
    const tell = tellPullRequest({ probot: s.rig.probot, settings: s.settings, templates });
    // As SQS delivers it: five receives, each failing; the fifth is the last.
    for (let receive = 1; receive <= MAX_RECEIVES; receive++) {
      const { batchItemFailures } = await processBatch(
        [
          {
            messageId: `m-${receive}`,
            body: JSON.stringify(job),
            attributes: { ApproximateReceiveCount: String(receive), MessageGroupId: "g" },
          },
        ],
        {
          run: async (j, attempt) => void (await processJob(j, { ...deps, attempt })),
          maxReceiveCount: MAX_RECEIVES,
          giveUp: async (j, err, stop) => {
            told.push(stop.kind);
            await tell(j, err, stop);
          },
          lastAttempt: unsettleEnvironment({
            kubeConfig: () => Promise.resolve(bot),
            settings: s.settings,
            log,
          }),
          log,
        },
      );
      expect(batchItemFailures).toHaveLength(1);
    }
    expect(told).toEqual(["gave-up"]);
    const cluster = new KubernetesCluster(admin);
    const before = readRecord((await cluster.readEnvironment(s.ns))!);
    expect(before.state?.phase).toBe("ready");
    expect(before.unsettledSince).not.toBeNull();
    const comment = () => s.comments.comments.find((c) => c.body.startsWith(COMMENT_MARKER))?.body;
    expect(comment()).toBeUndefined();
    // The Deployment and check run the first attempt made were taken over by the later ones (one
    // of each), and the last one said that prenv gave up.
    expect(s.deployments.deployments.filter((x) => x.sha === SHA1)).toHaveLength(1);
    expect(s.checks.checkRuns.filter((c) => c.head_sha === SHA1)).toMatchObject([
      { status: "completed", conclusion: "failure" },
    ]);

    // GitHub is back; the janitor's next pass finds the environment unsettled and reconciles it.
    failing = false;
    s.standIn.route("GET", "/repos/:owner/:repo/pulls", () => ({ body: [s.pr.pr] }));
    const jobs: ReconcileJob[] = [];
    const report = await runSweep({
      probot: s.rig.probot,
      cluster: new KubernetesCluster(bot),
      enqueue: (j) => Promise.resolve(void jobs.push(j)),
      prices: s.settings.environment.prices,
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
      only: (e) => e.name === s.ns,
    });
    expect(report.reconciled).toEqual([{ namespace: s.ns, reason: "a job did not finish" }]);
    for (const j of jobs) await processJob(j, deps);

    expect(comment()).toContain("ready");
    const check = s.checks.checkRuns.filter((c) => c.head_sha === SHA1).at(-1)!;
    expect(check).toMatchObject({ status: "completed", conclusion: "success" });
    const d = s.deployments.deployments.find((x) => x.sha === SHA1)!;
    expect(s.deployments.latestStatus(d.id)?.state).toBe("success");
    expect(readRecord((await cluster.readEnvironment(s.ns))!).unsettledSince).toBeNull();
  });
});
