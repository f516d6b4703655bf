// GitHub requests per pull request lifecycle: one PR opened, pushed to three times and closed,
// through the real app, its queue and worker, against the real test control plane and the GitHub
// stand-in, whose request log is counted per step and broken down by route. The App's Octokit is
// the one production uses (rate limiting and retries on), so each step's time includes any spacing
// it puts between requests. Pods are not run (the Deployment has 0 replicas): no rollout wait.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadKubeConfig } from "../src/adapters/kubernetes/kubeconfig.js";
import { COMMENT_MARKER } from "../src/report/comment.js";
import { AppOctokit } from "../src/runtime/root/github.js";
import { ADMIN_CONTEXT, BOT_CONTEXT, startControlPlane } from "../test/cluster/harness/controlplane.js";
import { SHA1, cleanupRigs, push, setup, web, type Setup } from "../test/cluster/harness/pr-rig.js";
import type { RecordedCall } from "../test/support/github-standin.js";
import { pullRequestPayload } from "../test/support/payloads.js";

/** Goals of the lifecycle (issue 16): a deploying push, and the whole lifecycle. */
const PUSH_GOAL = 12;
const LIFECYCLE_GOAL = 50;
/** Pull requests opened at once in one process (as `npm start` runs them), each in its own repository. */
const AT_ONCE = Number(process.env.BENCH_PRS_AT_ONCE ?? 16);

const files = (n: number) => ({
  "deploy/preview/web.yaml": web(),
  "deploy/preview/extra.yml": `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  push: "${n}"\n`,
  "README.md": "# hi",
});
const sha = (n: number) => String(n + 2).repeat(40);

/** `GET /repos/acme/web-1/pulls/7` → `GET pulls/7` (the repository is always the same). */
const routeOf = (c: RecordedCall) =>
  (c.route ?? `${c.method} ${c.path} (unexpected)`)
    .replace(/\/repos\/[^/]+\/[^/]+\//, "")
    .replace(/:(\w+)\*?/g, "{$1}");

interface Step {
  step: string;
  requests: number;
  ms: number;
  byRoute: Record<string, number>;
}

const runDir = mkdtempSync(join(tmpdir(), "prenv-bench-"));
const plane = await startControlPlane({ runDir });
const steps: Step[] = [];
let s: Setup | undefined;
try {
  const admin = loadKubeConfig(plane.kubeconfigPath, ADMIN_CONTEXT);
  const bot = loadKubeConfig(plane.kubeconfigPath, BOT_CONTEXT);
  s = await setup(bot, admin, { files: files(0), Octokit: AppOctokit });
  const rig = s;
  const run = async (step: string, payload: Record<string, unknown>) => {
    const from = rig.standIn.calls.length;
    const t0 = performance.now();
    await rig.rig.deliver("pull_request", payload);
    await rig.rig.settle();
    const ms = Math.round(performance.now() - t0);
    const calls = rig.standIn.calls.slice(from);
    const byRoute: Record<string, number> = {};
    for (const c of calls) byRoute[routeOf(c)] = (byRoute[routeOf(c)] ?? 0) + 1;
    steps.push({ step, requests: calls.length, ms, byRoute });
  };
  await run(`open (${SHA1.slice(0, 7)})`, s.opened);
  for (let n = 1; n <= 3; n++) await run(`push ${n} (${sha(n).slice(0, 7)})`, push(s, sha(n), files(n)));
  (s.pr.pr as { state: string }).state = "closed";
  const { owner, repo, number } = s;
  await run("close", pullRequestPayload("closed", { owner, repo, number, sha: sha(3), state: "closed" }));

  const many = await Promise.all(
    Array.from({ length: AT_ONCE }, () => setup(bot, admin, { files: files(0), Octokit: AppOctokit })),
  );
  const t1 = performance.now();
  await Promise.all(
    many.map(async (r) => {
      await r.rig.deliver("pull_request", r.opened);
      await r.rig.settle();
    }),
  );
  const atOnceSeconds = (performance.now() - t1) / 1000;
  const readyAtOnce = many.filter((r) => r.comments.comments[0]?.body.includes("ready")).length;

  const unexpected = s.standIn.unexpectedCalls.length;
  const state = s.comments.comments.find((c) => c.body.startsWith(COMMENT_MARKER))?.body ?? "";
  const created = s.standIn.calls.filter(
    (c) => c.method === "POST" && /\/issues\/\d+\/comments$/.test(c.path) && c.status === 201,
  ).length;
  const total = steps.reduce((n, x) => n + x.requests, 0);
  const pushes = steps.filter((x) => x.step.startsWith("push")).map((x) => x.requests);
  const routes = [...new Set(steps.flatMap((x) => Object.keys(x.byRoute)))].sort();
  const width = Math.max(...routes.map((r) => r.length));
  console.log(`\nGitHub requests per step (${steps.map((x) => x.step).join(", ")}):`);
  console.log(`${"route".padEnd(width)}  ${steps.map((_, i) => String(i + 1).padStart(5)).join("")}`);
  for (const r of routes) {
    console.log(`${r.padEnd(width)}  ${steps.map((x) => String(x.byRoute[r] ?? 0).padStart(5)).join("")}`);
  }
  console.log(`${"total".padEnd(width)}  ${steps.map((x) => String(x.requests).padStart(5)).join("")}`);
  console.log(
    `${"seconds".padEnd(width)}  ${steps.map((x) => (x.ms / 1000).toFixed(1).padStart(5)).join("")}`,
  );
  console.log(
    JSON.stringify({
      bench: "GitHub requests per PR lifecycle (open, 3 pushes, close)",
      total,
      per_step: Object.fromEntries(steps.map((x) => [x.step, x.requests])),
      seconds_per_step: Object.fromEntries(steps.map((x) => [x.step, x.ms / 1000])),
      comments_created: created,
      [`open_${AT_ONCE}_prs_at_once_seconds`]: Number(atOnceSeconds.toFixed(1)),
      [`of_${AT_ONCE}_ready`]: readyAtOnce,
      unexpected_requests: unexpected,
      final_comment_deleted: state.includes("deleted") || state.includes("Deleted"),
      goals: {
        push_max: PUSH_GOAL,
        push_met: pushes.every((n) => n <= PUSH_GOAL),
        no_per_push_growth: pushes.every((n) => n === pushes[0]),
        lifecycle_max: LIFECYCLE_GOAL,
        lifecycle_met: total <= LIFECYCLE_GOAL,
        one_comment_met: created === 1,
      },
    }),
  );
} finally {
  await cleanupRigs();
  await plane.stop();
  rmSync(runDir, { recursive: true, force: true });
}
