// Worker time per deploy of an app whose rollout takes a minute: the real control plane and node
// (test/cluster/harness), the real Probot app and worker with the GitHub stand-in (test/support), and
// a Deployment whose pod must stay ready 60 s before it counts as available (minReadySeconds: 60).
// The same PR is opened twice, each time on a fresh environment:
// - before: the deploy holds on until the rollout is decided, looking every second inside the job
//   (as deploys did before follow-up jobs: main's rollout wait polled every 1000 ms);
// - after: the deploy applies and returns; follow-up jobs look at 2 s, 3 s, 4.5 s ... (at most
//   PRENV_ROLLOUT_CHECK_SECONDS, 20 s, apart), each a job of its own in the PR's queue.
// Lambda-seconds are the worker's own measure of each job (`ms` of its "reconciled" and "rollout
// checked" lines), summed over the jobs of the deploy: what the worker function is billed for
// (1024 MB: GB-seconds alike). Also printed: how long the PR's queue was held by a job, in the
// longest stretch (a /env command or a push waits at most that long).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadKubeConfig } from "../src/adapters/kubernetes/kubeconfig.js";
import { ADMIN_CONTEXT, BOT_CONTEXT, startControlPlane } from "../test/cluster/harness/controlplane.js";
import { createNodeNetwork, startNode } from "../test/cluster/harness/node.js";
import { cleanupRigs, setup, SHA1 } from "../test/cluster/harness/pr-rig.js";
import { decideNode } from "../test/cluster/harness/tier.js";
import { app, tagImage } from "../test/cluster/harness/workloads.js";

const MIN_READY_SECONDS = Number(process.env.BENCH_ROLLOUT_SECONDS ?? 60);

interface JobLine {
  msg: string;
  ms: number;
  outcome: string;
}

const decision = decideNode();
if (!decision.run) {
  console.log(JSON.stringify({ bench: "rollout: worker time per deploy", skipped: decision.reason }));
  process.exit(0);
}

const runDir = mkdtempSync(join(tmpdir(), "prenv-bench-rollout-"));
const log = () => undefined;
const net = createNodeNetwork(runDir);
const plane = await startControlPlane({ runDir, log, nodeAddress: net.hostIP });
try {
  const node = await startNode({ plane, net, log });
  try {
    const admin = loadKubeConfig(plane.kubeconfigPath, ADMIN_CONTEXT);
    const bot = loadKubeConfig(plane.kubeconfigPath, BOT_CONTEXT);
    tagImage(node.info, node.info.images.web!, `prenv.test/web:${SHA1.slice(0, 7)}`);
    const files = {
      "deploy/preview/web.yaml": app({
        image: "prenv.test/web:{{shortSha}}",
        minReadySeconds: MIN_READY_SECONDS,
      }),
    };

    const deployOnce = async (holdFollowUps: boolean) => {
      const s = await setup(bot, admin, {
        files,
        rolloutSeconds: 300,
        // Before: looks every second, as the rollout wait polled; after: the production default.
        settings: { PRENV_ROLLOUT_CHECK_SECONDS: holdFollowUps ? "1" : "20" },
        holdFollowUps,
      });
      const started = Date.now();
      await s.rig.deliver("pull_request", s.opened);
      await s.rig.settle();
      const wallMs = Date.now() - started;
      const jobs = s.rig.logs
        .map((l) => JSON.parse(l) as Partial<JobLine>)
        .filter(
          (l): l is JobLine =>
            (l.msg === "reconciled" || l.msg === "rollout checked") && typeof l.ms === "number",
        );
      const comment = s.comments.comments[0]?.body ?? "";
      if (!comment.includes("ready"))
        throw new Error(`the deploy did not end ready: ${comment.slice(0, 300)}`);
      // Held: the deploy's job contains its follow-ups (and logs them too); only it is billed.
      const billed = holdFollowUps ? jobs.filter((j) => j.msg === "reconciled") : jobs;
      await cleanupRigs();
      return {
        lambdaSeconds: billed.reduce((sum, j) => sum + j.ms, 0) / 1000,
        invocations: billed.length,
        longestHoldSeconds: Math.max(...billed.map((j) => j.ms)) / 1000,
        readyAfterSeconds: wallMs / 1000,
      };
    };

    const before = await deployOnce(true);
    const after = await deployOnce(false);
    const round = (n: number) => Number(n.toFixed(1));
    console.log(
      JSON.stringify({
        bench: `worker time per deploy of a ${MIN_READY_SECONDS}-second rollout (real control plane and node)`,
        before_lambda_seconds: round(before.lambdaSeconds),
        after_lambda_seconds: round(after.lambdaSeconds),
        ratio: Number((after.lambdaSeconds / before.lambdaSeconds).toFixed(3)),
        before_invocations: before.invocations,
        after_invocations: after.invocations,
        before_longest_queue_hold_seconds: round(before.longestHoldSeconds),
        after_longest_queue_hold_seconds: round(after.longestHoldSeconds),
        before_ready_after_seconds: round(before.readyAfterSeconds),
        after_ready_after_seconds: round(after.readyAfterSeconds),
      }),
    );
  } finally {
    await node.stop();
  }
} finally {
  await plane.stop();
  rmSync(runDir, { recursive: true, force: true });
}
