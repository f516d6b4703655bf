// reconcile(pr): level-triggered. Reads the fresh pull request from GitHub and the environment
// from the cluster, works out what should be, and converges. Every event only asks for this;
// running it twice changes nothing the second time.
import { createHash } from "node:crypto";
import { accessInstructions } from "../access/instructions.js";
import { formatProblems } from "../config/parse.js";
import { CONFIG_FILE, type RepoConfig } from "../config/schema.js";
import { parseDuration } from "../config/duration.js";
import { PrenvError } from "../errors.js";
import { parseTenantManifests } from "../manifests/parse.js";
import {
  approvalCommand,
  COMMENT_MARKER,
  readMeta,
  type CommentMeta,
  type Report,
} from "../report/comment.js";
import { redactFailure } from "../report/redact.js";
import type { RenderDeps } from "../sources/ports.js";
import { renderSource } from "../sources/render.js";
import { publish, type PublishDeps } from "../report/publish.js";
import type { CommentVars } from "../report/comment.js";
import type { TemplateFn } from "../templates/engine.js";
import { capacity, isQueued } from "./capacity.js";
import { decodeRequests, encodeRequests, formatCost, requestsOf } from "./cost.js";
import { eligibility } from "./filters.js";
import { encodePolicy, policyOf, sleepDecision, type SleepReason } from "./sleep.js";
import { ingressObject, namespaceObjects, vclusterObjects, type GuardTemplates } from "./guards.js";
import { ceilingProblems } from "./ceilings.js";
import { locateForJob } from "./locate.js";
import { branchSlug, previewHost, shortSha, virtualApiHost } from "./naming.js";
import type {
  ClusterPort,
  Clock,
  ConfigLookup,
  EnvironmentRecord,
  GitHubPort,
  KubeObject,
  Logger,
  ManifestFile,
  ObjectRef,
  PrRef,
  PullRequest,
  RepoRole,
  WorkloadCluster,
} from "./ports.js";
import type { EnvironmentSettings } from "./settings.js";
import {
  decodeState,
  encodeState,
  IDENTITY,
  LABELS,
  MANAGED_BY,
  refKey,
  ACTIVITY_MANAGER,
  CHECKED_AT,
  LAST_ACTIVITY,
  REPAIR_EVERY_MS,
  REPAIR_MANAGER,
  SLEEP,
  SLEEP_MANAGER,
  STATE,
  WARN_AT,
  WARN_MANAGER,
  WARNED,
  type EnvState,
} from "./state.js";

export interface ReconcileDeps {
  github: GitHubPort;
  cluster: ClusterPort;
  clock: Clock;
  log: Logger;
  settings: EnvironmentSettings;
  templates: { guards: GuardTemplates; comment: TemplateFn<CommentVars> };
  /** Rendering deploy.helm and deploy.kustomize; absent where the render tools are not installed. */
  render?: RenderDeps | undefined;
}

export type Outcome =
  | "unchanged"
  | "not-configured"
  | "invalid-config"
  | "skipped"
  | "waiting-checks"
  | "checks-failed"
  | "manifest-invalid"
  | "deployed"
  | "failed"
  | "deleted"
  | "destroyed"
  | "awaiting-approval"
  | "slept"
  | "woke"
  | "queued"
  | "repaired"
  | "name-taken";

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet"]);

interface Ctx {
  ref: PrRef;
  deps: ReconcileDeps;
  namespace: string;
  /** The preview host, `<namespace>.<base domain>`. */
  host: string;
  /** Where the virtual cluster's API would be (used in vcluster mode only). */
  apiHost: string;
  environment: string;
  publishDeps: PublishDeps;
  /** Hidden state from prenv's comment, carried into every comment prenv writes. */
  meta: CommentMeta;
  opts: ReconcileOptions;
}

export interface ReconcileOptions {
  /** Redeploy even if the environment is up to date, and even after `/env destroy`. */
  force?: boolean;
  /** Changes to the comment's hidden state (a command's effect), applied before deciding. */
  meta?: Partial<Record<keyof CommentMeta, CommentMeta[keyof CommentMeta] | null>>;
}

async function say(ctx: Ctx, report: Report): Promise<void> {
  await publish({ ...report, meta: ctx.meta }, ctx.publishDeps);
}

export async function reconcile(
  ref: PrRef,
  deps: ReconcileDeps,
  opts: ReconcileOptions = {},
): Promise<Outcome> {
  const pr = await deps.github.getPull();
  const located = await locateForJob(deps.cluster, ref, pr, deps.settings.namespacePrefix, deps.log);
  const { namespace, env } = located;
  const environment = `pr-${ref.number}`;
  const ctx: Ctx = {
    ref,
    deps,
    namespace,
    host: previewHost(namespace, deps.settings.baseDomain),
    apiHost: virtualApiHost(namespace, deps.settings.vcluster.apiDomain),
    environment,
    publishDeps: {
      github: deps.github,
      comment: deps.templates.comment,
      checkName: deps.settings.checkName,
      environment,
    },
    meta: applyMeta(readMeta((await deps.github.findComment(COMMENT_MARKER))?.body), opts.meta),
    opts,
  };
  if (!pr || pr.state === "closed") {
    return teardown(
      ctx,
      env,
      pr ? (pr.merged ? "The pull request was merged." : "The pull request was closed.") : null,
    );
  }
  const config = await deps.github.getConfig();
  if (config.kind === "missing") {
    return env ? teardown(ctx, env, `${CONFIG_FILE} was removed from the default branch.`) : "not-configured";
  }
  const refused = await configGate(ctx, pr, config, env);
  if (refused) return refused;
  if (!env && located.foreign) {
    await say(ctx, {
      ...blankReport(pr.headSha),
      kind: "error",
      detail: `The namespace ${namespace} belongs to another repository's environment, so prenv cannot create this pull request's environment there. Nothing was changed; tell the prenv operators.`,
    });
    return "name-taken";
  }
  if (config.kind !== "ok") return "invalid-config";
  return reconcileOpen(ctx, pr, config.config, env);
}

/** An invalid config, or one asking for more than the operator allows: reported, nothing changed. */
async function configGate(
  ctx: Ctx,
  pr: PullRequest,
  config: Exclude<ConfigLookup, { kind: "missing" }>,
  env: EnvironmentRecord | null,
): Promise<Outcome | null> {
  const problems =
    config.kind === "invalid" ? config.problems : ceilingProblems(config.config, ctx.deps.settings);
  if (problems.length === 0) return null;
  await say(ctx, {
    ...blankReport(pr.headSha),
    kind: "invalid-config",
    detail: env ? "The existing environment was left as it was." : "Nothing was created.",
    detailMarkdown: formatProblems(CONFIG_FILE, problems),
  });
  return "invalid-config";
}

/** Everything that can stop a deploy, in order; null when the PR should be deployed. */
async function gates(
  ctx: Ctx,
  pr: PullRequest,
  config: RepoConfig,
  env: EnvironmentRecord | null,
): Promise<Outcome | null> {
  const { deps } = ctx;
  const allowed = await eligibility(pr, config, () => deps.github.listChangedFiles());
  if (!allowed.ok) {
    if (env) return teardown(ctx, env, allowed.reason);
    await say(ctx, { ...blankReport(null), kind: "skipped", detail: allowed.reason });
    return "skipped";
  }
  if (env?.phase === "Terminating") {
    throw new PrenvError("CLUSTER_ERROR", `namespace ${ctx.namespace} is still being deleted; will retry`);
  }
  const outdated = env ? outlived(ctx, env, config) : null;
  if (env && outdated) return teardown(ctx, env, outdated);
  if (!ctx.opts.force && ctx.meta.destroyedSha === pr.headSha) {
    const detail = "Destroyed with /env destroy; a new push or `/env redeploy` brings it back.";
    if (env) return teardown(ctx, env, detail, "destroyed");
    await say(ctx, { ...blankReport(pr.headSha), kind: "destroyed", detail });
    return "destroyed";
  }
  const waiting = (await trustGate(ctx, pr, config, env)) ?? (await requiredChecks(ctx, pr, config));
  if (waiting) return waiting;
  return !env || isQueued(env) ? admission(ctx, pr, config, env) : null;
}

/** Why an existing environment must go before anything else happens: expired, or built as another kind. */
function outlived(ctx: Ctx, env: EnvironmentRecord, config: RepoConfig): string | null {
  if (expired(env, ctx.deps.clock)) {
    return "The environment reached the end of its lifetime (ttl); the next push deploys a new one.";
  }
  const built = isQueued(env) ? null : (env.annotations[IDENTITY.isolation] ?? "namespace");
  if (built && built !== config.isolation) {
    return `The isolation changed from ${built} to ${config.isolation}, so the environment is rebuilt: a push or /env redeploy deploys it again once the old one is gone.`;
  }
  return null;
}

async function reconcileOpen(
  ctx: Ctx,
  pr: PullRequest,
  config: RepoConfig,
  env: EnvironmentRecord | null,
): Promise<Outcome> {
  const stopped = await gates(ctx, pr, config, env);
  if (stopped) return stopped;

  const state = env ? decodeState(env.annotations) : null;
  const configHash = hashConfig(config);
  const created = createdAt(ctx, env);
  const expiresAt = expiry(ctx, env, config, created);
  const url = config.url ? previewUrl(ctx) : null;
  if (env && !ctx.opts.force && state?.deployedSha === pr.headSha && state.configHash === configHash) {
    const settled = await settleCurrent(ctx, pr, config, env, state, { url, expiresAt });
    if (settled) return settled;
  }
  const renewed =
    config.ttlRenewOnPush && state?.deployedSha !== pr.headSha ? renew(ctx, config, created) : expiresAt;
  const outcome = await deploy(ctx, pr, config, {
    env,
    createdAt: created,
    state,
    configHash,
    expiresAt: renewed,
    url,
  });
  if (outcome === "deployed" || outcome === "failed") await warnIfExpiring(ctx, pr, config, env, renewed);
  return outcome;
}

async function requiredChecks(ctx: Ctx, pr: PullRequest, config: RepoConfig): Promise<Outcome | null> {
  const names = config.deploy.waitForChecks;
  if (names.length === 0) return null;
  const states = await ctx.deps.github.checkStates(pr.headSha, names);
  const failed = names.filter((n) => states.get(n) === "failure");
  if (failed.length > 0) {
    await say(ctx, {
      ...blankReport(pr.headSha),
      kind: "checks-failed",
      detail: `Failed: ${failed.join(", ")}. Push a fix to try again.`,
    });
    return "checks-failed";
  }
  const pending = names.filter((n) => states.get(n) !== "success");
  if (pending.length > 0) {
    await say(ctx, {
      ...blankReport(pr.headSha),
      kind: "waiting-checks",
      detail: `Waiting for: ${pending.join(", ")}.`,
    });
    return "waiting-checks";
  }
  return null;
}

interface DeployPlan {
  env: EnvironmentRecord | null;
  createdAt: Date;
  state: EnvState | null;
  configHash: string;
  expiresAt: Date;
  url: string | null;
}

/** Reads, renders and checks the PR's manifests: the objects to apply, or the problems to report. */
async function tenantObjects(
  ctx: Ctx,
  pr: PullRequest,
  config: RepoConfig,
  host: string,
): Promise<{ ok: true; objects: KubeObject[] } | { ok: false; problems: string[] }> {
  const { deps, namespace } = ctx;
  const labels = { ...MANAGED_BY, [LABELS.applied]: "true" };
  const vars = {
    pr: pr.number,
    sha: pr.headSha,
    shortSha: shortSha(pr.headSha),
    branch: pr.headRef,
    branchSlug: branchSlug(pr.headRef),
    namespace,
    host,
    image: config.deploy.image,
  };
  // A chart's or overlay's output is data: it is not templated again (templating: false).
  const raw = config.deploy.path;
  let files: ManifestFile[];
  try {
    files =
      raw !== undefined
        ? await deps.github.readManifestFiles(pr.headSha, raw)
        : await renderSource(
            config.deploy,
            { commit: pr.headSha, namespace, isolation: config.isolation, vars },
            deps.render,
          );
  } catch (err) {
    if (err instanceof PrenvError && err.code === "MANIFEST_INVALID")
      return { ok: false, problems: [err.message] };
    throw err;
  }
  const parsed = parseTenantManifests(files, {
    namespace,
    labels,
    isolation: config.isolation,
    ingressClass: deps.settings.ingressClass,
    vars,
    templating: raw !== undefined,
  });
  if (!parsed.ok) return { ok: false, problems: parsed.errors.map((e) => e.message) };
  const tenant = parsed.objects.map((o) => o.object);
  const ingress = ingressObject(deps.templates.guards, {
    // Inside a virtual cluster the preview Ingress goes where the Service it routes to is.
    namespace: config.isolation === "vcluster" ? serviceNamespace(tenant, config) : namespace,
    labels,
    host,
    config,
    settings: deps.settings,
  });
  const objects = [...tenant, ...(ingress ? [ingress] : [])];
  const hostProblems = foreignIngressHosts(objects, host);
  return hostProblems.length > 0 ? { ok: false, problems: hostProblems } : { ok: true, objects };
}

/** Kinds other objects may need to exist first (inside a virtual cluster): applied, then the rest. */
const FOUNDATION_KINDS = new Set(["Namespace", "CustomResourceDefinition"]);
/** How long new CustomResourceDefinitions may take to be served. */
const CRD_TIMEOUT_MS = 60_000;

/** The namespace (inside a virtual cluster) of the Service the preview URL routes to. */
function serviceNamespace(objects: KubeObject[], config: RepoConfig): string {
  const service = objects.find((o) => o.kind === "Service" && o.metadata.name === config.url?.service);
  return service?.metadata.namespace || "default";
}

async function deploy(ctx: Ctx, pr: PullRequest, config: RepoConfig, plan: DeployPlan): Promise<Outcome> {
  const { deps, namespace } = ctx;
  const report = liveReport(ctx, pr, config, plan);
  const refuse = async (problems: string[], detail = untouched(plan.env)): Promise<Outcome> => {
    await say(ctx, { ...report, kind: "manifest-invalid", problems, detail });
    return "manifest-invalid";
  };

  // 1. Read and check the PR's manifests before anything is created or changed.
  const tenant = await tenantObjects(ctx, pr, config, ctx.host);
  if (!tenant.ok) return refuse(tenant.problems);
  const controlPlane = config.isolation === "vcluster" ? virtualClusterObjects(ctx, config) : [];
  const defaults = deps.settings.containerDefaults;
  const requests = requestsOf([...tenant.objects, ...controlPlane], {
    cpu: defaults.defaultRequestCpu,
    memory: defaults.defaultRequestMemory,
  });
  report.cost = formatCost(requests, deps.settings.prices);
  const previous = plan.state?.applied ?? [];
  const state = (phase: EnvState["phase"], applied: ObjectRef[]) =>
    encodeState({
      phase,
      deployedSha: pr.headSha,
      configHash: plan.configHash,
      applied,
      requests: encodeRequests(requests),
    });

  // 2. Namespace and guards (as the bot), then say we are deploying; a virtual cluster must start first.
  await deps.cluster.applyAsBot(guardObjects(ctx, pr, config, plan));
  await say(ctx, { ...report, kind: "deploying" });
  const target =
    controlPlane.length > 0
      ? await startVirtualCluster(ctx, controlPlane, report, () => state("failed", previous))
      : hostWorkloads(deps.cluster, namespace);
  if (typeof target === "string") return target;

  // 3. All or nothing: a server-side dry run of every object, then the real apply.
  const applied = await applyAll(target, tenant.objects, (refs) =>
    deps.cluster.writeState(namespace, state("deploying", union(previous, refs))),
  );
  if (!applied.ok) return refuse(applied.problems, applied.detail ?? untouched(plan.env));
  const refs = applied.refs;
  await recordDeploy(ctx, pr, plan);
  const keep = new Set(refs.map(refKey));
  const stale = previous.filter((r) => !keep.has(refKey(r)));
  if (stale.length > 0) await target.delete(stale);

  // 4. Closed while we were deploying: leave nothing behind.
  const fresh = await deps.github.getPull();
  if (!fresh || fresh.state === "closed") {
    const env = await deps.cluster.readEnvironment(namespace);
    return teardown(ctx, env, "The pull request was closed during the deployment.");
  }

  // 5. Wait for workloads, then report.
  const workloads = refs.filter((r) => WORKLOAD_KINDS.has(r.kind));
  const rollout = await target.waitForRollout(workloads, deps.settings.rolloutTimeoutMs);
  if (!rollout.ready) {
    const namespaces = [...new Set(workloads.map((w) => w.namespace ?? namespace))];
    const failure = redactFailure(await target.diagnose(namespaces));
    await deps.cluster.writeState(namespace, state("failed", refs));
    const seconds = Math.round(deps.settings.rolloutTimeoutMs / 1000);
    const detail = `Not ready after ${seconds} s: ${rollout.pending.join(", ")}.`;
    await say(ctx, { ...report, kind: "failed", failure, detail });
    return "failed";
  }
  await deps.cluster.writeState(namespace, state("ready", refs));
  await say(ctx, { ...report, kind: "ready" });
  deps.log.info(
    { namespace, sha: pr.headSha, isolation: config.isolation, objects: refs.length, pruned: stale.length },
    "environment deployed",
  );
  return "deployed";
}

/** What every comment about a live environment shows: where, until when, how to get in. */
function liveReport(
  ctx: Ctx,
  pr: PullRequest,
  config: RepoConfig,
  plan: { expiresAt: Date; url: string | null },
): Omit<Report, "kind"> {
  const { settings } = ctx.deps;
  return {
    ...blankReport(pr.headSha),
    namespace: ctx.namespace,
    expiresAt: plan.expiresAt,
    url: plan.url,
    access: accessInstructions(settings.access, ctx.ref),
    virtualApi: config.isolation === "vcluster" ? `https://${ctx.apiHost}` : null,
  };
}

/** After a successful apply: awake, guards just checked, and (on a new commit) active now. */
async function recordDeploy(ctx: Ctx, pr: PullRequest, plan: DeployPlan): Promise<void> {
  const { deps, namespace } = ctx;
  if (plan.env?.annotations[SLEEP.sleeping] === "true") {
    await deps.cluster.annotate(namespace, SLEEP_MANAGER, {
      [SLEEP.sleeping]: "false",
      [SLEEP.since]: "",
      [SLEEP.reason]: "",
    });
  }
  await deps.cluster.annotate(namespace, REPAIR_MANAGER, { [CHECKED_AT]: deps.clock.now().toISOString() });
  if (plan.env?.annotations[STATE.deployedSha] !== pr.headSha) {
    await deps.cluster.annotate(namespace, ACTIVITY_MANAGER, {
      [LAST_ACTIVITY]: deps.clock.now().toISOString(),
    });
  }
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
  let stage = "checking";
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

/** The PR's virtual cluster's own objects in the host namespace, from templates/. */
function virtualClusterObjects(ctx: Ctx, config: RepoConfig): KubeObject[] {
  const { settings, templates } = ctx.deps;
  return vclusterObjects(templates.guards, {
    namespace: ctx.namespace,
    labels: { ...MANAGED_BY, [LABELS.applied]: "true" },
    apiHost: ctx.apiHost,
    config,
    settings,
  });
}

/**
 * Installs (or updates) the virtual cluster as the host namespace's tenant and waits for its API.
 * Returns where the PR's objects go, or the outcome already reported when it did not start.
 */
async function startVirtualCluster(
  ctx: Ctx,
  controlPlane: KubeObject[],
  report: Omit<Report, "kind">,
  failedState: () => Record<string, string>,
): Promise<WorkloadCluster | Outcome> {
  const { deps, namespace } = ctx;
  try {
    await deps.cluster.applyAsTenant(namespace, controlPlane, { dryRun: true });
    await deps.cluster.applyAsTenant(namespace, controlPlane, { dryRun: false });
  } catch (err) {
    if (!(err instanceof PrenvError) || err.code !== "MANIFEST_INVALID") throw err;
    deps.log.error({ namespace, err: err.message }, "virtual cluster refused by the host");
    await deps.cluster.writeState(namespace, failedState());
    await say(ctx, {
      ...report,
      kind: "failed",
      detail: `The host cluster refused prenv's virtual cluster: ${err.message}. This is a problem of the prenv installation; tell its operators.`,
    });
    return "failed";
  }
  const timeoutMs = deps.settings.vcluster.readyTimeoutMs;
  const vc = await deps.cluster.virtualCluster(namespace, ctx.apiHost, timeoutMs);
  if (vc.ready) return vc.cluster;
  const failure = redactFailure(await deps.cluster.diagnose(namespace));
  await deps.cluster.writeState(namespace, failedState());
  await say(ctx, {
    ...report,
    kind: "failed",
    failure,
    detail: `The virtual cluster did not start within ${Math.round(timeoutMs / 1000)} s: ${vc.reason}.`,
  });
  return "failed";
}

function guardObjects(ctx: Ctx, pr: PullRequest, config: RepoConfig, plan: DeployPlan): KubeObject[] {
  const { deps, namespace } = ctx;
  const labels = {
    ...MANAGED_BY,
    [LABELS.pr]: String(pr.number),
    [LABELS.repoId]: String(pr.repoId),
    [LABELS.queued]: "false",
  };
  const annotations = {
    [IDENTITY.repository]: `${ctx.ref.owner}/${ctx.ref.repo}`,
    [IDENTITY.pr]: String(pr.number),
    [IDENTITY.installation]: String(ctx.ref.installationId),
    [IDENTITY.createdAt]: plan.createdAt.toISOString(),
    [IDENTITY.expiresAt]: plan.expiresAt.toISOString(),
    [WARN_AT]: new Date(plan.expiresAt.getTime() - parseDuration(config.warnBeforeExpiry)).toISOString(),
    [SLEEP.policy]: encodePolicy(policyOf(config)),
    [IDENTITY.isolation]: config.isolation,
    [IDENTITY.previewHost]: ctx.host,
    [IDENTITY.ingressClass]: deps.settings.ingressClass,
    ...(config.isolation === "vcluster" ? { [IDENTITY.apiHost]: ctx.apiHost } : {}),
  };
  return namespaceObjects(deps.templates.guards, {
    namespace,
    labels,
    annotations,
    config,
    settings: deps.settings,
  });
}

async function teardown(
  ctx: Ctx,
  env: EnvironmentRecord | null,
  reason: string | null,
  kind: "deleted" | "destroyed" = "deleted",
): Promise<Outcome> {
  if (env) await ctx.deps.cluster.deleteNamespace(ctx.namespace);
  const detail =
    kind === "destroyed"
      ? reason
      : reason
        ? `${reason} The environment was deleted.`
        : "The environment was deleted.";
  await say(ctx, { ...blankReport(null), kind, detail });
  if (env) ctx.deps.log.info({ namespace: ctx.namespace, reason }, "environment deleted");
  return kind;
}

const WRITE_ROLES: ReadonlySet<RepoRole> = new Set(["admin", "maintain", "write"]);

/** Fork PRs and PRs of authors without write access run only a commit someone trusted approved. */
async function trustGate(
  ctx: Ctx,
  pr: PullRequest,
  config: RepoConfig,
  env: EnvironmentRecord | null,
): Promise<Outcome | null> {
  const sameRepo = pr.headRepoFullName?.toLowerCase() === `${ctx.ref.owner}/${ctx.ref.repo}`.toLowerCase();
  if (sameRepo && WRITE_ROLES.has(await ctx.deps.github.permissionOf(pr.author))) return null;
  const why = sameRepo ? "was opened by an author without write access" : "comes from a fork";
  if (config.forks === "never") {
    const reason = `This pull request ${why}, and this repository does not deploy those (forks: never).`;
    if (env) return teardown(ctx, env, reason);
    await say(ctx, { ...blankReport(null), kind: "skipped", detail: reason });
    return "skipped";
  }
  if (ctx.meta.approvedSha === pr.headSha) return null;
  const running = env ? " The environment keeps running the commit approved before." : "";
  // Remembered so that an approval can only ever name the commit prenv showed here.
  ctx.meta = { ...ctx.meta, awaitingSha: pr.headSha };
  await say(ctx, {
    ...blankReport(pr.headSha),
    kind: "awaiting-approval",
    detail: `This pull request ${why}, so prenv does not deploy it on its own. A user with write access who has reviewed commit ${pr.headSha.slice(0, 7)} can deploy it by commenting the line below; a later push needs a new approval.${running}`,
    detailMarkdown: "```\n" + approvalCommand(pr.headSha) + "\n```",
  });
  return "awaiting-approval";
}

function costText(ctx: Ctx, state: EnvState | null): string | null {
  const requests = decodeRequests(state?.requests);
  return requests ? formatCost(requests, ctx.deps.settings.prices) : null;
}

/** Sleeps or wakes a converged environment as the repo's sleep settings say (see sleep.ts). */
async function applySleepPolicy(
  ctx: Ctx,
  config: RepoConfig,
  env: EnvironmentRecord,
): Promise<Outcome | null> {
  const { cluster, clock } = ctx.deps;
  const a = env.annotations;
  const lastActivity = Date.parse(a[LAST_ACTIVITY] ?? a[IDENTITY.createdAt] ?? "");
  const decision = sleepDecision(
    policyOf(config),
    {
      sleeping: a[SLEEP.sleeping] === "true",
      reason: (a[SLEEP.reason] as SleepReason | undefined) ?? null,
      lastActivity: Number.isNaN(lastActivity) ? null : lastActivity,
    },
    clock.now(),
  );
  if (!decision) return null;
  await cluster.scaleWorkloads(ctx.namespace, decision.action);
  const annotations =
    decision.action === "sleep"
      ? {
          [SLEEP.sleeping]: "true",
          [SLEEP.since]: clock.now().toISOString(),
          [SLEEP.reason]: decision.reason,
        }
      : { [SLEEP.sleeping]: "false", [SLEEP.since]: "", [SLEEP.reason]: "" };
  await cluster.annotate(ctx.namespace, SLEEP_MANAGER, annotations);
  ctx.deps.log.info({ namespace: ctx.namespace, ...decision }, "sleep policy applied");
  return decision.action === "sleep" ? "slept" : "woke";
}

function sleepNote(env: EnvironmentRecord | null): string | null {
  if (env?.annotations[SLEEP.sleeping] !== "true") return null;
  const since = env.annotations[SLEEP.since];
  return since ? `asleep since ${since.replace(/\.\d{3}Z$/, "Z")}; /env wake or a push wakes it` : "asleep";
}

function applyMeta(meta: CommentMeta, changes: ReconcileOptions["meta"]): CommentMeta {
  const out: Record<string, unknown> = { ...meta };
  for (const [k, v] of Object.entries(changes ?? {})) {
    if (v === null || v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

function expired(env: EnvironmentRecord, clock: Clock): boolean {
  const expires = Date.parse(env.annotations[IDENTITY.expiresAt] ?? "");
  return expires <= clock.now().getTime();
}

function blankReport(sha: string | null): Omit<Report, "kind"> {
  return {
    sha,
    url: null,
    namespace: null,
    expiresAt: null,
    detail: null,
    detailMarkdown: null,
    problems: [],
    failure: null,
  };
}

function untouched(env: EnvironmentRecord | null): string {
  return env
    ? "Nothing was applied; the environment still runs the previous deployment."
    : "Nothing was created.";
}

function previewUrl(ctx: Ctx): string {
  const { settings } = ctx.deps;
  return `${settings.urlScheme}://${ctx.host}/`;
}

/**
 * Deployed at this commit with this config: sleep or wake as configured, or, when ready, just make
 * sure GitHub says so (a no-op when it does). Null when it still needs a deploy (a failed one).
 */
async function settleCurrent(
  ctx: Ctx,
  pr: PullRequest,
  config: RepoConfig,
  env: EnvironmentRecord,
  state: EnvState,
  at: { url: string | null; expiresAt: Date },
): Promise<Outcome | null> {
  const sleepChange = await applySleepPolicy(ctx, config, env);
  // A virtual cluster that slept lost what ran inside it (its store is ephemeral): deploy again.
  if (sleepChange === "woke" && config.isolation === "vcluster") return null;
  if (!sleepChange && !converged(env, state, pr.headSha, state.configHash)) return null;
  const now = sleepChange ? await ctx.deps.cluster.readEnvironment(ctx.namespace) : env;
  const ready = { ...liveReport(ctx, pr, config, at), kind: "ready" as const };
  await say(ctx, { ...ready, note: sleepNote(now), cost: costText(ctx, state) });
  if (!sleepChange) await warnIfExpiring(ctx, pr, config, env, at.expiresAt);
  if (!sleepChange && (await repairIfDue(ctx, pr, config, env, state, at.expiresAt))) return "repaired";
  return sleepChange ?? "unchanged";
}

/** A new environment must fit under the caps; otherwise it waits in the queue (see capacity.ts). */
async function admission(
  ctx: Ctx,
  pr: PullRequest,
  config: RepoConfig,
  env: EnvironmentRecord | null,
): Promise<Outcome | null> {
  const { deps } = ctx;
  const caps = { operator: deps.settings.maxEnvironments, repo: config.maxEnvironments };
  if (caps.operator === 0 && caps.repo === undefined) return null;
  const repository = `${ctx.ref.owner}/${ctx.ref.repo}`;
  const asked = env?.annotations[IDENTITY.requestedAt] ?? deps.clock.now().toISOString();
  const verdict = capacity(
    await deps.cluster.listEnvironments(),
    { namespace: ctx.namespace, repository, requestedAt: Date.parse(asked) },
    caps,
  );
  if (verdict.admit) return null;
  await deps.cluster.applyAsBot([
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: ctx.namespace,
        labels: {
          ...MANAGED_BY,
          // deploy/policy.yaml admits no prenv namespace without Pod Security enforced.
          "pod-security.kubernetes.io/enforce": "restricted",
          [LABELS.pr]: String(pr.number),
          [LABELS.repoId]: String(pr.repoId),
          [LABELS.queued]: "true",
        },
        annotations: {
          [IDENTITY.repository]: repository,
          [IDENTITY.pr]: String(pr.number),
          [IDENTITY.installation]: String(ctx.ref.installationId),
          [IDENTITY.requestedAt]: asked,
        },
      },
    },
  ]);
  await say(ctx, {
    ...blankReport(pr.headSha),
    kind: "queued",
    detail: `${verdict.reason} This pull request is number ${verdict.position} in the queue and gets an environment when one frees up.`,
  });
  return "queued";
}

/** Every REPAIR_EVERY_MS, re-apply the guards (server-side apply restores what drifted). */
async function repairIfDue(
  ctx: Ctx,
  pr: PullRequest,
  config: RepoConfig,
  env: EnvironmentRecord,
  state: EnvState,
  expiresAt: Date,
): Promise<boolean> {
  const { deps } = ctx;
  const now = deps.clock.now();
  const checked = Date.parse(env.annotations[CHECKED_AT] ?? "");
  if (!Number.isNaN(checked) && now.getTime() - checked < REPAIR_EVERY_MS) return false;
  const plan = {
    env,
    createdAt: createdAt(ctx, env),
    state,
    configHash: state.configHash,
    expiresAt,
    url: null,
  };
  await deps.cluster.applyAsBot(guardObjects(ctx, pr, config, plan));
  await deps.cluster.annotate(ctx.namespace, REPAIR_MANAGER, { [CHECKED_AT]: now.toISOString() });
  return true;
}

/** Deployed at this commit with this config, and ready (or deliberately asleep). */
function converged(env: EnvironmentRecord, state: EnvState | null, sha: string, configHash: string): boolean {
  const settled = state?.phase === "ready" || env.annotations[SLEEP.sleeping] === "true";
  return settled && state?.deployedSha === sha && state.configHash === configHash;
}

/** `ttlRenewOnPush`: now + ttl, still capped by maxTtl and the operator's maximum from creation. */
function renew(ctx: Ctx, config: RepoConfig, created: Date): Date {
  const cap = created.getTime() + Math.min(parseDuration(config.maxTtl), ctx.deps.settings.maxTtlMs);
  return new Date(Math.min(ctx.deps.clock.now().getTime() + parseDuration(config.ttl), cap));
}

/** Once per expiry: a comment mentioning the author when expiry is within `warnBeforeExpiry`. */
async function warnIfExpiring(
  ctx: Ctx,
  pr: PullRequest,
  config: RepoConfig,
  env: EnvironmentRecord | null,
  expiresAt: Date,
): Promise<void> {
  const { deps } = ctx;
  const left = expiresAt.getTime() - deps.clock.now().getTime();
  const iso = expiresAt.toISOString();
  if (left > parseDuration(config.warnBeforeExpiry) || env?.annotations[WARNED] === iso) return;
  const when = iso.replace(/\.\d{3}Z$/, "Z");
  await deps.github.createComment(
    `@${pr.author} the preview environment of this pull request expires at ${when}. ` +
      "Comment `/env extend` to keep it longer; after expiry, a new push brings it back.",
  );
  await deps.cluster.annotate(ctx.namespace, WARN_MANAGER, { [WARNED]: iso });
}

function createdAt(ctx: Ctx, env: EnvironmentRecord | null): Date {
  const existing = Date.parse(env?.annotations[IDENTITY.createdAt] ?? "");
  return Number.isNaN(existing) ? ctx.deps.clock.now() : new Date(existing);
}

/** Kept once set (`/env extend` moves it); else creation + ttl, capped by maxTtl and the operator. */
function expiry(ctx: Ctx, env: EnvironmentRecord | null, config: RepoConfig, created: Date): Date {
  const existing = env?.annotations[IDENTITY.expiresAt];
  if (existing && !Number.isNaN(Date.parse(existing))) return new Date(existing);
  const ttl = Math.min(parseDuration(config.ttl), parseDuration(config.maxTtl), ctx.deps.settings.maxTtlMs);
  return new Date(created.getTime() + ttl);
}

function hashConfig(config: RepoConfig): string {
  return createHash("sha256").update(JSON.stringify(config)).digest("hex").slice(0, 16);
}

function toRef(o: KubeObject): ObjectRef {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name };
}

function union(a: ObjectRef[], b: ObjectRef[]): ObjectRef[] {
  const seen = new Map(a.map((r) => [refKey(r), r]));
  for (const r of b) seen.set(refKey(r), r);
  return [...seen.values()];
}

/** Ingress hosts other than the preview's own would let a PR take traffic meant for someone else. */
function foreignIngressHosts(objects: KubeObject[], host: string): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    if (o.kind !== "Ingress") continue;
    const spec = (o.spec ?? {}) as {
      rules?: { host?: unknown }[];
      tls?: { hosts?: unknown[] }[];
      defaultBackend?: unknown;
    };
    if (spec.defaultBackend !== undefined) {
      problems.push(
        `Ingress/${o.metadata.name}: defaultBackend would catch traffic for every host; use a rule with host {{host}}.`,
      );
    }
    const hosts = [
      ...(spec.rules ?? []).map((r) => r.host),
      ...(spec.tls ?? []).flatMap((t) => t.hosts ?? []),
    ];
    for (const h of hosts) {
      if (typeof h !== "string" || (h !== host && !h.endsWith(`.${host}`))) {
        problems.push(
          `Ingress/${o.metadata.name}: host ${JSON.stringify(String(h)).slice(0, 80)} is not this preview's host; use {{host}} (${host}) or a subdomain of it.`,
        );
      }
    }
  }
  return problems;
}
