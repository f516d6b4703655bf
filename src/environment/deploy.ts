// Deploy: the PR's head commit, all or nothing. Its manifests are read and checked before anything
// changes; then the namespace and its guards (as the bot), the virtual cluster if any, a
// server-side dry run of every object and the real apply (as the tenant), pruning what the commit
// no longer has, and a wait for the workloads. The state written on the namespace says how far it got.
import { redactFailure } from "../report/redact.js";
import { PrenvError } from "../errors.js";
import type { KubeObject, ObjectRef } from "../manifests/objects.js";
import { liveReport, say, untouched, type OpenCtx, type Outcome } from "./context.js";
import { encodeRequests, formatCost, requestsOf } from "./cost.js";
import type { Life } from "./lifetime.js";
import { guardObjects } from "./namespace.js";
import { checkReachable } from "./reachability.js";
import type { ClusterPort, EnvironmentRecord, WorkloadCluster } from "./ports.js";
import { readRecord, refKey, stateWrite, checkedWrite, type EnvPhase, type EnvState } from "./record.js";
import { markAwake, recordActivity } from "./sleep.js";
import { applyRoutes, routeObjects } from "./routes.js";
import { tenantObjects } from "./tenant.js";
import { startVirtualCluster, virtualClusterObjects } from "./virtual-cluster.js";

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet"]);
/** Kinds other objects may need to exist first (inside a virtual cluster): applied, then the rest. */
const FOUNDATION_KINDS = new Set(["Namespace", "CustomResourceDefinition"]);
/** How long new CustomResourceDefinitions may take to be served. */
const CRD_TIMEOUT_MS = 60_000;

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
  const state = (phase: EnvPhase, applied: ObjectRef[]) =>
    stateWrite({
      phase,
      deployedSha: pr.headSha,
      configHash: plan.configHash,
      applied,
      requests: encodeRequests(requests),
    });

  // 2. Namespace and guards (as the bot), then say we are deploying; a virtual cluster must start first.
  await deps.cluster.applyAsBot(guardObjects(ctx, plan.life));
  await applyRoutes(ctx, routes.objects);
  await say(ctx, { ...report, kind: "deploying" });
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

  // 4. Wait for workloads, then report. The pull request is read once per job: a close event that
  // arrives meanwhile is the next job of the PR's queue, which deletes what this one made.

  const workloads = refs.filter((r) => WORKLOAD_KINDS.has(r.kind));
  const rollout = await target.waitForRollout(workloads, deps.settings.rolloutTimeoutMs);
  if (!rollout.ready) {
    const namespaces = [...new Set(workloads.map((w) => w.namespace ?? namespace))];
    const failure = redactFailure(await target.diagnose(namespaces));
    await deps.cluster.annotate(namespace, state("failed", refs));
    const seconds = Math.round(deps.settings.rolloutTimeoutMs / 1000);
    const detail = `Not ready after ${seconds} s: ${rollout.pending.join(", ")}.`;
    await say(ctx, { ...report, kind: "failed", failure, detail });
    return "failed";
  }
  const reach = await checkReachable(ctx);
  if (!reach.reachable) {
    await deps.cluster.annotate(namespace, state("failed", refs));
    await say(ctx, { ...report, kind: "failed", detail: reach.detail });
    return "failed";
  }
  await deps.cluster.annotate(namespace, state("ready", refs));
  await say(ctx, { ...report, kind: "ready" });
  deps.log.info(
    { namespace, sha: pr.headSha, isolation: config.isolation, objects: refs.length, pruned: stale.length },
    "environment deployed",
  );
  return "deployed";
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

/** The host namespace as the target of a PR's objects, applied as its tenant service account. */
function hostWorkloads(cluster: ClusterPort, namespace: string): WorkloadCluster {
  return {
    apply: async (objects, opts) => {
      await cluster.applyAsTenant(namespace, objects, opts);
      return objects.map(toRef);
    },
    established: () => Promise.resolve(),
    delete: (refs) => cluster.deleteAsTenant(namespace, refs),
    waitForRollout: (workloads, timeoutMs) => cluster.waitForRollout(namespace, workloads, timeoutMs),
    diagnose: () => cluster.diagnose(namespace),
  };
}

type Applied = { ok: true; refs: ObjectRef[] } | { ok: false; problems: string[]; detail?: string };

/**
 * Dry run, record what is about to exist, apply. Namespaces and CustomResourceDefinitions (only
 * ever in a virtual cluster) go first, so that objects in them, or of their kinds, can be checked.
 */
async function applyAll(
  target: WorkloadCluster,
  objects: KubeObject[],
  record: (refs: ObjectRef[]) => Promise<void>,
): Promise<Applied> {
  const foundation = objects.filter((o) => FOUNDATION_KINDS.has(o.kind));
  const rest = objects.filter((o) => !FOUNDATION_KINDS.has(o.kind));
  let stage: "checking" | "foundation" | "applying" = "checking";
  try {
    let first: ObjectRef[] = [];
    if (foundation.length > 0) {
      first = await target.apply(foundation, { dryRun: true });
      await record(first);
      stage = "foundation";
      await target.apply(foundation, { dryRun: false });
      const crds = foundation
        .filter((o) => o.kind === "CustomResourceDefinition")
        .map((o) => o.metadata.name);
      await target.established(crds, CRD_TIMEOUT_MS);
    }
    const refs = [...first, ...(await target.apply(rest, { dryRun: true }))];
    await record(refs);
    stage = "applying";
    await target.apply(rest, { dryRun: false });
    return { ok: true, refs };
  } catch (err) {
    if (!(err instanceof PrenvError) || err.code !== "MANIFEST_INVALID") throw err;
    const detail = {
      checking: undefined,
      foundation:
        "Only its namespaces and CustomResourceDefinitions were applied; nothing else of this commit was.",
      applying:
        "Part of this commit was applied before the cluster refused the rest; push a fix to deploy again.",
    }[stage];
    return { ok: false, problems: [err.message], ...(detail ? { detail } : {}) };
  }
}

function toRef(o: KubeObject): ObjectRef {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name };
}

function union(a: ObjectRef[], b: ObjectRef[]): ObjectRef[] {
  const seen = new Map(a.map((r) => [refKey(r), r]));
  for (const r of b) seen.set(refKey(r), r);
  return [...seen.values()];
}
