// reconcile(pr): level-triggered. Reads the fresh pull request from GitHub and the environment
// from the cluster, works out what should be, and converges. Every event only asks for this;
// running it twice changes nothing the second time.
//
// The orchestration only: read → gates → settle or deploy → report. Each rule has its own file:
// gates.ts (their order), approval.ts, admission.ts (caps and queue), lifetime.ts (expiry, extend,
// warning), sleep.ts, deploy.ts, repair.ts, teardown.ts; record.ts reads and writes what is kept on
// the namespace.
import { CONFIG_FILE } from "../config/schema.js";
import {
  blankReport,
  configHash,
  liveReport,
  newContext,
  readSnapshot,
  keepSaying,
  say,
  type JobSnapshot,
  type OpenCtx,
  type Outcome,
  type ReconcileDeps,
  type ReconcileOptions,
} from "./context.js";
import { decodeRequests, formatCost } from "./cost.js";
import { deploy } from "./deploy.js";
import { configGate, gates } from "./gates.js";
import { lifeOf, renewed, warnIfExpiring, type Life } from "./lifetime.js";
import type { EnvironmentRecord, PrRef } from "./ports.js";
import { readRecord, settledWrite, type EnvState } from "./record.js";
import { repairIfDue } from "./repair.js";
import { continueRollout } from "./rollout.js";
import { applySleepPolicy, sleepNote } from "./sleep.js";
import { teardown } from "./teardown.js";

/** Reconciles one pull request, reading everything it needs first. */
export async function reconcile(
  ref: PrRef,
  deps: ReconcileDeps,
  opts: ReconcileOptions = {},
): Promise<Outcome> {
  return reconcileJob(ref, deps, await readSnapshot(ref, deps), opts);
}

/**
 * Reconciles from what the job has already read (commands change it first, then call this). An
 * environment a job left unsettled (record.ts) is settled once this completes.
 */
export async function reconcileJob(
  ref: PrRef,
  deps: ReconcileDeps,
  job: JobSnapshot,
  opts: ReconcileOptions,
): Promise<Outcome> {
  const unsettled = job.located.env ? readRecord(job.located.env).unsettledSince : null;
  const outcome = await converge(ref, deps, job, opts);
  if (unsettled && outcome !== "deleted" && outcome !== "destroyed") {
    await deps.cluster.annotate(job.located.namespace, settledWrite());
  }
  return outcome;
}

async function converge(
  ref: PrRef,
  deps: ReconcileDeps,
  job: JobSnapshot,
  opts: ReconcileOptions,
): Promise<Outcome> {
  const { pr, located } = job;
  const { env } = located;
  const ctx = newContext(ref, deps, job, opts);
  if (!pr || pr.state === "closed") {
    const why = pr ? (pr.merged ? "The pull request was merged." : "The pull request was closed.") : null;
    return teardown(ctx, env, why);
  }
  const config = await job.config();
  if (config.kind === "missing") {
    return env ? teardown(ctx, env, `${CONFIG_FILE} was removed from the default branch.`) : "not-configured";
  }
  const refused = await configGate(ctx, pr, config, env);
  if (refused) return refused;
  if (!env && located.foreign) {
    await say(ctx, {
      ...blankReport(pr.headSha),
      kind: "error",
      detail: `The namespace ${ctx.namespace} belongs to another repository's environment, so prenv cannot create this pull request's environment there. Nothing was changed; tell the prenv operators.`,
    });
    return "name-taken";
  }
  if (config.kind !== "ok") return "invalid-config";
  return reconcileOpen({ ...ctx, pr, config: config.config }, env);
}

async function reconcileOpen(ctx: OpenCtx, env: EnvironmentRecord | null): Promise<Outcome> {
  const stopped = await gates(ctx, env);
  if (stopped) return stopped;

  const { deps, pr, config } = ctx;
  const state = env ? readRecord(env).state : null;
  const hash = configHash(config);
  const life = lifeOf(env ? readRecord(env) : null, config, deps.clock.now(), deps.settings.maxTtlMs);
  const url = config.url ? `${deps.settings.urlScheme}://${ctx.host}/` : null;
  if (env && !ctx.opts.force && state?.deployedSha === pr.headSha && state.configHash === hash) {
    const settled = await settleCurrent(ctx, env, { state, life, url });
    if (settled) return settled;
  }
  const expiresAt = expiryOnDeploy(ctx, life, state);
  const outcome = await deploy(ctx, { env, life: { ...life, expiresAt }, state, configHash: hash, url });
  if (outcome === "deployed" || outcome === "rolling-out" || outcome === "failed") {
    await warnIfExpiring(ctx, env, { createdAt: life.createdAt, expiresAt });
  }
  return outcome;
}

/** The expiry a deploy writes: as it was, or renewed on a push with `ttlRenewOnPush`. */
function expiryOnDeploy(ctx: OpenCtx, life: Life, state: EnvState | null): Date {
  const { config, deps } = ctx;
  if (!config.ttlRenewOnPush || state?.deployedSha === ctx.pr.headSha) return life.expiresAt;
  return renewed(life, config, deps.clock.now(), deps.settings.maxTtlMs);
}

/**
 * Deployed at this commit with this config: sleep or wake as configured, or, when ready, just make
 * sure GitHub says so (a no-op when it does), warn before expiry and repair the guards when due.
 * Null when it still needs a deploy (a failed one, or a virtual cluster that woke up empty).
 */
async function settleCurrent(
  ctx: OpenCtx,
  env: EnvironmentRecord,
  current: { state: EnvState; life: Life; url: string | null },
): Promise<Outcome | null> {
  const { state, life, url } = current;
  // Applied, and its follow-ups looking at the rollout: one more look now.
  if (state.phase === "rolling-out") return continueRollout(ctx, env, state);
  const sleep = await applySleepPolicy(ctx, env);
  // Woken: deploy again, so "ready" waits for the rollout (and a virtual cluster, whose store is
  // ephemeral, gets back what ran inside it).
  if (sleep?.outcome === "woke") return null;
  if (asleepAfterFailure(state, sleep?.env ?? env)) {
    await keepSaying(ctx);
    return sleep?.outcome ?? "unchanged";
  }
  if (!converged(state, ctx.pr.headSha)) return null;
  const requests = decodeRequests(state.requests);
  await say(ctx, {
    ...liveReport(ctx, { expiresAt: life.expiresAt, url }),
    kind: "ready",
    note: sleepNote(sleep?.env ?? env),
    cost: requests ? formatCost(requests, ctx.deps.settings.prices) : null,
  });
  if (sleep) return sleep.outcome;
  await warnIfExpiring(ctx, env, life);
  return (await repairIfDue(ctx, env, life)) ? "repaired" : "unchanged";
}

/**
 * Asleep after a failed deploy: sleep keeps the state it found (the comment, check run and
 * Deployment all still say failed); a push, `/env wake` or `/env redeploy` deploys again.
 */
function asleepAfterFailure(state: EnvState, env: EnvironmentRecord): boolean {
  return state.phase === "failed" && readRecord(env).sleep.sleeping;
}

/** Deployed at this commit with this config, and ready (asleep or not). */
function converged(state: EnvState, sha: string): boolean {
  return state.phase === "ready" && state.deployedSha === sha;
}
