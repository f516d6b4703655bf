// After the apply: is the environment ready? A deploy records its state as `rolling-out` (with when
// the rollout began), looks once, and returns; follow-up jobs, run later in the pull request's own
// order (docs/adr/0012), look again until every readiness condition is met (ready), one says it
// never will (failed), or the rollout timeout passes (failed). Nothing holds a worker, or the PR's
// queue, in between.
//
// A follow-up is level-triggered and idempotent: it reads the namespace fresh, does nothing unless
// the same commit and config are still rolling out there, and reads GitHub only once it has
// something to say. A reconcile that meets a rolling-out environment looks too. Once the workloads
// are ready, the job that saw it checks that the environment is reachable (reachability.ts) before
// it says "ready", as the deploy did when it waited.
import type { RolloutCheck } from "../jobs/job.js";
import type { Report } from "../report/comment.js";
import { redactFailure } from "../report/redact.js";
import { hostWorkloads } from "./apply.js";
import {
  configHash,
  continuing,
  liveReport,
  newContext,
  readSnapshot,
  say,
  type Ctx,
  type OpenCtx,
  type Outcome,
  type ReconcileDeps,
} from "./context.js";
import { decodeRequests, formatCost } from "./cost.js";
import { lifeOf } from "./lifetime.js";
import { locateForJob } from "./locate.js";
import type { EnvironmentRecord, PrRef, WorkloadCluster } from "./ports.js";
import { checkReachable } from "./reachability.js";
import { evaluateReadiness, READINESS, type Readiness } from "./readiness.js";
import { readRecord, stateWrite, type EnvState } from "./record.js";

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet"]);
/** The first follow-up; each later one waits half as long again, up to the operator's interval. */
const FIRST_CHECK_MS = 2_000;

/** How long before follow-up `attempt` (1, 2, ...): 2 s, 3 s, 4.5 s ... at most `maxMs`. */
export function checkDelayMs(attempt: number, maxMs: number): number {
  return Math.round(Math.min(maxMs, FIRST_CHECK_MS * 1.5 ** (attempt - 1)));
}

/** The follow-up due next, `elapsedMs` into a rollout whose follow-ups ran on schedule. */
export function nextCheck(elapsedMs: number, maxMs: number): { attempt: number; delayMs: number } {
  let at = 0;
  for (let attempt = 1; ; attempt++) {
    at += checkDelayMs(attempt, maxMs);
    if (at > elapsedMs) return { attempt, delayMs: at - elapsedMs };
  }
}

/** A rollout in progress, as the namespace records it, and where its workloads are. */
interface Rollout {
  env: EnvironmentRecord | null;
  /** `rolling-out`. */
  state: EnvState;
  target: WorkloadCluster;
  /** Whose it is (the follow-up jobs carry it). */
  repoId: number;
  /** The deploy's own look: says "deploying" before anything it would wait for (the route, the URL). */
  deploying?: () => Promise<void>;
}

/**
 * Right after the apply (`state` already written): one look, then ready, failed, or the first
 * follow-up scheduled. `report` is what the comment shows of the environment; `deploying` says
 * "deploying" on the PR, before anything it would have to wait for.
 */
export async function startRollout(
  ctx: OpenCtx,
  rollout: Omit<Rollout, "repoId">,
  report: Omit<Report, "kind">,
  deploying: () => Promise<void>,
): Promise<Outcome> {
  const r = { ...rollout, repoId: ctx.pr.repoId, deploying };
  const readiness = await look(ctx, r);
  if (waiting(ctx.deps, r, readiness)) {
    await deploying();
    await followUp(ctx.deps, r, 1, checkDelayMs(1, ctx.deps.settings.rolloutCheckMaxMs));
    return "rolling-out";
  }
  return finish(ctx, r, readiness, report);
}

/**
 * A reconcile found this commit and config rolling out: one look; undecided, a follow-up in case
 * the scheduled ones were lost (the queue drops it as a duplicate when one is scheduled).
 */
export async function continueRollout(
  ctx: OpenCtx,
  env: EnvironmentRecord,
  state: EnvState,
): Promise<Outcome> {
  const r = { env, state, target: await rolloutTarget(ctx, env), repoId: ctx.pr.repoId };
  const readiness = await look(ctx, r);
  if (waiting(ctx.deps, r, readiness)) {
    const elapsed = ctx.deps.clock.now().getTime() - sinceOf(state);
    const next = nextCheck(elapsed, ctx.deps.settings.rolloutCheckMaxMs);
    await followUp(ctx.deps, r, next.attempt, next.delayMs);
    return "rolling-out";
  }
  continuing(ctx);
  return finish(ctx, r, readiness, deployedReport(ctx, env, state));
}

/**
 * A follow-up job. Reads the namespace only; stale (another commit or config deployed since, the
 * rollout decided, the environment gone): nothing. Once decided, it reads the pull request, its
 * config and prenv's comment, and reports only if they still describe this rollout.
 */
export async function checkRollout(ref: PrRef, deps: ReconcileDeps, check: RolloutCheck): Promise<Outcome> {
  const where = { cluster: deps.cluster, log: deps.log, prefix: deps.settings.namespacePrefix };
  const located = await locateForJob(where, ref, null);
  const env = located.env;
  const view = env ? readRecord(env) : null;
  const state = view?.state ?? null;
  if (!env || !view?.owner || !isRollingOut(state, check)) return "unchanged";
  const ctx = newContext(ref, deps, { located, meta: {} }, {});
  const r = { env, state, target: await rolloutTarget(ctx, env), repoId: view.owner.repoId };
  const readiness = await look(ctx, r);
  if (waiting(deps, r, readiness)) {
    const attempt = check.attempt + 1;
    await followUp(deps, r, attempt, checkDelayMs(attempt, deps.settings.rolloutCheckMaxMs));
    return "rolling-out";
  }
  // Decided: GitHub, read fresh, must still be about this commit and config.
  const job = await readSnapshot(ref, deps);
  const { pr } = job;
  if (!pr || pr.state === "closed" || pr.headSha !== check.sha) return "unchanged";
  const config = await job.config();
  if (config.kind !== "ok" || configHash(config.config) !== check.configHash) return "unchanged";
  const open: OpenCtx = { ...newContext(ref, deps, job, {}), pr, config: config.config };
  continuing(open);
  return finish(open, r, readiness, deployedReport(open, env, state));
}

function isRollingOut(state: EnvState | null, check: RolloutCheck): state is EnvState {
  return (
    state?.phase === "rolling-out" &&
    state.deployedSha === check.sha &&
    state.configHash === check.configHash &&
    sinceOf(state) === check.since
  );
}

function sinceOf(state: EnvState): number {
  return state.rolloutSince?.getTime() ?? 0;
}

function look(ctx: Ctx, r: Rollout): Promise<Readiness> {
  return evaluateReadiness(READINESS, {
    deps: ctx.deps,
    namespace: ctx.namespace,
    target: r.target,
    workloads: workloadsOf(r.state),
  });
}

/** Not decided yet, and not past the rollout timeout (counted from when the rollout began). */
function waiting(deps: ReconcileDeps, r: Rollout, readiness: Readiness): boolean {
  const since = sinceOf(r.state);
  return readiness.state === "waiting" && deps.clock.now().getTime() < since + deps.settings.rolloutTimeoutMs;
}

function followUp(deps: ReconcileDeps, r: Rollout, attempt: number, delayMs: number): Promise<void> {
  const check = {
    sha: r.state.deployedSha,
    configHash: r.state.configHash,
    since: sinceOf(r.state),
    attempt,
  };
  return deps.followUp({ check, repoId: r.repoId }, delayMs);
}

/** Ready or failed: the state written on the namespace, then the PR told (comment, check run, deployment). */
async function finish(
  ctx: OpenCtx,
  r: Rollout,
  readiness: Readiness,
  report: Omit<Report, "kind">,
): Promise<Outcome> {
  const { deps, namespace, pr, config } = ctx;
  const { state } = r;
  if (readiness.state === "ready") {
    // Rolled out; "ready" also means reachable (the route accepted, the URL answering; ADR 11).
    const reach = await checkReachable(ctx, r.deploying);
    if (!reach.reachable) {
      await deps.cluster.annotate(namespace, stateWrite({ ...state, phase: "failed" }));
      await say(ctx, { ...report, kind: "failed", detail: reach.detail });
      return "failed";
    }
    await deps.cluster.annotate(namespace, stateWrite({ ...state, phase: "ready" }));
    await say(ctx, { ...report, kind: "ready" });
    const objects = state.applied.length;
    deps.log.info(
      { namespace, sha: pr.headSha, isolation: config.isolation, objects },
      "environment deployed",
    );
    return "deployed";
  }
  const explained = readiness.state === "waiting" || readiness.diagnose;
  const namespaces = [...new Set(workloadsOf(state).map((w) => w.namespace ?? namespace))];
  const failure = explained ? redactFailure(await r.target.diagnose(namespaces)) : null;
  await deps.cluster.annotate(namespace, stateWrite({ ...state, phase: "failed" }));
  const seconds = Math.round(deps.settings.rolloutTimeoutMs / 1000);
  const detail =
    readiness.state === "failed"
      ? readiness.detail
      : `Not ready after ${seconds} s: ${readiness.state === "waiting" ? readiness.pending.join(", ") : ""}.`;
  await say(ctx, { ...report, kind: "failed", failure, detail });
  return "failed";
}

function workloadsOf(state: EnvState) {
  return state.applied.filter((r) => WORKLOAD_KINDS.has(r.kind));
}

/** Where the PR's workloads are: the host namespace, or its virtual cluster (one try to reach it). */
async function rolloutTarget(ctx: Ctx, env: EnvironmentRecord): Promise<WorkloadCluster> {
  const { cluster } = ctx.deps;
  const view = readRecord(env);
  const host = hostWorkloads(cluster, ctx.namespace);
  if (view.builtAs !== "vcluster") return host;
  const vc = await cluster.virtualCluster(ctx.namespace, view.apiHost ?? ctx.apiHost, 0);
  if (vc.ready) return vc.cluster;
  // Not reachable right now: the look waits (until the rollout times out, saying why).
  const pending = [`the virtual cluster (${vc.reason})`];
  return { ...host, rolloutState: () => Promise.resolve({ ready: false, pending, failed: [] }) };
}

/** The comment of a deployed environment, as a reconcile shows it. */
function deployedReport(ctx: OpenCtx, env: EnvironmentRecord, state: EnvState): Omit<Report, "kind"> {
  const { deps, config } = ctx;
  const life = lifeOf(readRecord(env), config, deps.clock.now(), deps.settings.maxTtlMs);
  const url = config.url ? `${deps.settings.urlScheme}://${ctx.host}/` : null;
  const requests = decodeRequests(state.requests);
  return {
    ...liveReport(ctx, { expiresAt: life.expiresAt, url }),
    cost: requests ? formatCost(requests, deps.settings.prices) : null,
  };
}
