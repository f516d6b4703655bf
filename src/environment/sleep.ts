// Sleep: scaling an environment's workloads to zero and back, by the repo's sleep settings (the
// decision is sleep-policy.ts), by `/env sleep` and `/env wake`, and awake again after a deploy.
// Activity (a push or a command) is recorded here too: idle time counts from it.
import { isoSeconds } from "../report/time.js";
import type { OpenCtx } from "./context.js";
import type { ClusterPort, Clock, EnvironmentRecord, ScaleResult } from "./ports.js";
import {
  activityWrite,
  afterWrite,
  awakeWrite,
  readRecord,
  sleepWrite,
  type EnvironmentView,
} from "./record.js";
import { policyOf, sleepDecision, type SleepPolicy } from "./sleep-policy.js";

interface SleepDeps {
  cluster: Pick<ClusterPort, "scaleWorkloads" | "annotate">;
  clock: Clock;
}

/** What the policy says to do now with this environment: sleep (and why), wake, or nothing. */
export function sleepDue(
  view: EnvironmentView,
  policy: SleepPolicy,
  now: Date,
): ReturnType<typeof sleepDecision> {
  const { sleeping, reason } = view.sleep;
  return sleepDecision(policy, { sleeping, reason, lastActivity: view.lastActivity?.getTime() ?? null }, now);
}

/** Sleeps or wakes a converged environment as the repo's sleep settings say. */
export async function applySleepPolicy(
  ctx: OpenCtx,
  env: EnvironmentRecord,
): Promise<{ outcome: "slept" | "woke"; env: EnvironmentRecord } | null> {
  const { clock, log } = ctx.deps;
  const decision = sleepDue(readRecord(env), policyOf(ctx.config), clock.now());
  if (!decision) return null;
  const now =
    decision.action === "sleep"
      ? await scale(ctx.deps, env, { to: "sleep", reason: decision.reason })
      : await scale(ctx.deps, env, { to: "wake" });
  log.info({ namespace: ctx.namespace, ...decision }, "sleep policy applied");
  return { outcome: decision.action === "sleep" ? "slept" : "woke", env: now.env };
}

/** `/env sleep` and `/env wake`: scales now, whatever the policy says. */
export function sleepOrWake(
  deps: SleepDeps,
  env: EnvironmentRecord,
  to: "sleep" | "wake",
): Promise<{ result: ScaleResult; env: EnvironmentRecord }> {
  return scale(deps, env, to === "sleep" ? { to, reason: "command" } : { to });
}

async function scale(
  deps: SleepDeps,
  env: EnvironmentRecord,
  how: { to: "sleep"; reason: "idle" | "schedule" | "command" } | { to: "wake" },
): Promise<{ result: ScaleResult; env: EnvironmentRecord }> {
  const result = await deps.cluster.scaleWorkloads(env.name, how.to);
  const write = how.to === "sleep" ? sleepWrite(deps.clock.now(), how.reason) : awakeWrite();
  await deps.cluster.annotate(env.name, write);
  return { result, env: afterWrite(env, write) };
}

/** After a deploy: the new workloads run, so an environment that slept is awake. */
export async function markAwake(deps: SleepDeps, env: EnvironmentRecord | null): Promise<void> {
  if (env && readRecord(env).sleep.sleeping) await deps.cluster.annotate(env.name, awakeWrite());
}

/** A push or an `/env` command: idle time starts again. Returns the record as it now is. */
export async function recordActivity(
  deps: { cluster: Pick<ClusterPort, "annotate">; clock: Clock },
  namespace: string,
  env: EnvironmentRecord | null,
): Promise<EnvironmentRecord | null> {
  const write = activityWrite(deps.clock.now());
  await deps.cluster.annotate(namespace, write);
  return env && afterWrite(env, write);
}

/** The state row's note for a sleeping environment. */
export function sleepNote(env: EnvironmentRecord | null): string | null {
  const sleep = env ? readRecord(env).sleep : null;
  if (!sleep?.sleeping) return null;
  return sleep.since ? `asleep since ${isoSeconds(sleep.since)}; /env wake or a push wakes it` : "asleep";
}
