// Deploy: the PR's head commit, all or nothing. Its manifests are read and checked before anything
// changes; then the namespace and its guards (as the bot), the virtual cluster if any, a
// server-side dry run of every object and the real apply in waves (as the tenant; apply.ts),
// pruning what the commit no longer has; then the rollout is looked at, now and by follow-up jobs
// (rollout.ts). The state written on the namespace says how far it got.
import type { ObjectRef } from "../manifests/objects.js";
import { applyAll, hostWorkloads } from "./apply.js";
import { liveReport, say, untouched, type OpenCtx, type Outcome } from "./context.js";
import { encodeRequests, formatCost, requestsOf } from "./cost.js";
import type { Life } from "./lifetime.js";
import { guardObjects } from "./namespace.js";
import type { EnvironmentRecord } from "./ports.js";
import { readRecord, refKey, stateWrite, checkedWrite, type EnvPhase, type EnvState } from "./record.js";
import { startRollout } from "./rollout.js";
import { markAwake, recordActivity } from "./sleep.js";
import { applyRoutes, routeObjects } from "./routes.js";
import { tenantObjects } from "./tenant.js";
import { startVirtualCluster, virtualClusterObjects } from "./virtual-cluster.js";

export interface DeployPlan {
  /** The environment as it is before this deploy, or null for a new one. */
  env: EnvironmentRecord | null;
  life: Life;
  state: EnvState | null;
  configHash: string;
  url: string | null;
}

export async function deploy(ctx: OpenCtx, plan: DeployPlan): Promise<Outcome> {
  const { deps, namespace, pr, config } = ctx;
  const report = liveReport(ctx, { expiresAt: plan.life.expiresAt, url: plan.url });
  const refuse = async (problems: string[], detail = untouched(plan.env)): Promise<Outcome> => {
    await say(ctx, { ...report, kind: "manifest-invalid", problems, detail });
    return "manifest-invalid";
  };

  // 1. Read and check the PR's manifests before anything is created or changed.
  const tenant = await tenantObjects(ctx);
  if (!tenant.ok) return refuse(tenant.problems);
  const routes = routeObjects(ctx, tenant.objects);
  if (!routes.ok) return refuse([routes.problem]);
  const controlPlane = config.isolation === "vcluster" ? virtualClusterObjects(ctx) : [];
  const defaults = deps.settings.containerDefaults;
  const requests = requestsOf([...tenant.objects, ...controlPlane], {
    cpu: defaults.defaultRequestCpu,
    memory: defaults.defaultRequestMemory,
  });
  report.cost = formatCost(requests, deps.settings.prices);
  const previous = plan.state?.applied ?? [];
  const stateOf = (phase: EnvPhase, applied: ObjectRef[]): EnvState => ({
    phase,
    deployedSha: pr.headSha,
    configHash: plan.configHash,
    applied,
    requests: encodeRequests(requests),
  });
  const state = (phase: EnvPhase, applied: ObjectRef[]) => stateWrite(stateOf(phase, applied));

  // 2. Namespace and guards (as the bot); a virtual cluster must start first. "Deploying" is said
  // as soon as the PR would wait for something: the virtual cluster, a rollout its first look
  // does not decide, the route or URL. A deploy decided within the job says its outcome only
  // (ADR 13: the same states, three fewer GitHub writes).
  await deps.cluster.applyAsBot(guardObjects(ctx, plan.life));
  await applyRoutes(ctx, routes.objects);
  const deploying = () => say(ctx, { ...report, kind: "deploying" });
  if (controlPlane.length > 0) await deploying();
  const target =
    controlPlane.length > 0
      ? await startVirtualCluster(ctx, controlPlane, report, () => state("failed", previous))
      : hostWorkloads(deps.cluster, namespace);
  if (typeof target === "string") return target;

  // 3. All or nothing: a server-side dry run of every object, then the real apply.
  const applied = await applyAll(target, tenant.objects, (refs) =>
    deps.cluster.annotate(namespace, state("deploying", union(previous, refs))),
  );
  if (!applied.ok) return refuse(applied.problems, await refusedApply(ctx, plan.env, applied.detail));
  const refs = applied.refs;
  await recordDeploy(ctx, plan.env);
  const keep = new Set(refs.map(refKey));
  const stale = previous.filter((r) => !keep.has(refKey(r)));
  if (stale.length > 0) await target.delete(stale);

  // 4. The rollout: looked at now, then by follow-up jobs until ready, failed or timed out. (The
  // pull request is read once per job: a close that arrives meanwhile is the next job of the PR's
  // queue, which deletes what this one made.)
  const rolling = { ...stateOf("rolling-out", refs), rolloutSince: deps.clock.now() };
  await deps.cluster.annotate(namespace, stateWrite(rolling));
  deps.log.info(
    { namespace, sha: pr.headSha, objects: refs.length, pruned: stale.length },
    "environment applied",
  );
  return startRollout(ctx, { env: plan.env, state: rolling, target }, report, deploying);
}

/**
 * What a refused apply left, in words. A first deploy the cluster refused before anything of the
 * PR was applied removes the namespace made for it, so "Nothing was created" stays true and the
 * next push starts clean.
 */
async function refusedApply(ctx: OpenCtx, env: EnvironmentRecord | null, detail?: string): Promise<string> {
  if (detail) return detail;
  if (!env) await ctx.deps.cluster.deleteNamespace(ctx.namespace);
  return untouched(env);
}

/** After a successful apply: awake, guards just checked, and (on a new commit) active now. */
async function recordDeploy(ctx: OpenCtx, env: EnvironmentRecord | null): Promise<void> {
  const { deps, namespace, pr } = ctx;
  await markAwake(deps, env);
  await deps.cluster.annotate(namespace, checkedWrite(deps.clock.now()));
  if (!env || readRecord(env).state?.deployedSha !== pr.headSha) await recordActivity(deps, namespace, env);
}

function union(a: ObjectRef[], b: ObjectRef[]): ObjectRef[] {
  const seen = new Map(a.map((r) => [refKey(r), r]));
  for (const r of b) seen.set(refKey(r), r);
  return [...seen.values()];
}
