// An environment's record: everything prenv keeps about it, on its namespace (labels to select by,
// annotations for the rest). The host cluster is the only database. This module is the one reader
// and writer of those keys: the rest of prenv reads an EnvironmentView and asks for writes.
//
// Each concern is written by its own server-side-apply field manager, so that writing one never
// drops another's fields (see docs/adr/0010).
import type { ObjectRef } from "../manifests/objects.js";
import type { AnnotationWrite, EnvironmentRecord, Isolation } from "./ports.js";
import { decodeRef, encodeRefs } from "./applied-refs.js";
import { decodePolicy, encodePolicy, type SleepPolicy, type SleepReason } from "./sleep-policy.js";

export { refKey } from "./applied-refs.js";

const P = "prenv.dev";

/** On every namespace prenv manages (and on what it applies inside one): how prenv selects them. */
export const MANAGED_BY = { "app.kubernetes.io/managed-by": "prenv" } as const;

const LABEL = {
  pr: `${P}/pr`,
  repoId: `${P}/repo-id`,
  /** "true" on the placeholder namespace of a PR waiting for capacity. */
  queued: `${P}/queued`,
  /** Put on every object prenv applies inside a PR namespace. */
  applied: `${P}/applied`,
} as const;

const KEY = {
  // Identity, written with the guards (manager `prenv`).
  repository: `${P}/repository`,
  pr: `${P}/pr`,
  installation: `${P}/installation`,
  createdAt: `${P}/created-at`,
  expiresAt: `${P}/expires-at`,
  /** When a queued PR first asked for an environment (queue order). */
  requestedAt: `${P}/requested-at`,
  /** `namespace` or `vcluster`: what the environment was built as. */
  isolation: `${P}/isolation`,
  /** Ingresses in the namespace may serve this host and its subdomains only (deploy/policy.yaml). */
  previewHost: `${P}/preview-host`,
  /** The virtual cluster's API host (vcluster mode only); served by prenv's own Ingress alone. */
  apiHost: `${P}/api-host`,
  /** The IngressClass Ingresses in the namespace must name (deploy/policy.yaml). */
  ingressClass: `${P}/ingress-class`,
  /** `<namespace>/<name>` of the operator's Gateway: the only parent HTTPRoutes there may name (deploy/policy.yaml). */
  gateway: `${P}/gateway`,
  /** When the janitor should come back to warn. */
  warnAt: `${P}/warn-at`,
  /** The repo's sleep settings, so the janitor can decide without GitHub. */
  sleepPolicy: `${P}/sleep-policy`,
  // Deploy state, rewritten whole on every deploy (manager `prenv-state`).
  phase: `${P}/state`,
  deployedSha: `${P}/deployed-sha`,
  configHash: `${P}/config-hash`,
  applied: `${P}/applied-objects`,
  requests: `${P}/requests`,
  /** When the workloads of a `rolling-out` deploy were applied: its timeout counts from it. */
  rolloutSince: `${P}/rollout-since`,
  // Sleep (manager `prenv-sleep`).
  sleeping: `${P}/sleeping`,
  asleepSince: `${P}/asleep-since`,
  /** idle | schedule | command */
  sleepReason: `${P}/sleep-reason`,
  // One key each.
  /** When prenv last re-applied the guards (manager `prenv-repair`). */
  checkedAt: `${P}/checked-at`,
  /** Last push or command (manager `prenv-activity`): idle time is counted from it. */
  lastActivity: `${P}/last-activity`,
  /** The expiry a warning was posted for (manager `prenv-warn`). */
  warnedFor: `${P}/expiry-warned-for`,
  /**
   * Since when a job about this environment may have left it, or GitHub's view of it, half done: set
   * when a job starts its last attempt or prenv gives up on it (manager `prenv-unsettled`), cleared
   * by the next reconcile that completes. The janitor reconciles such environments.
   */
  unsettledSince: `${P}/unsettled-since`,
} as const;

/** On a Deployment or StatefulSet put to sleep: its replica count before. */
export const REPLICAS_BEFORE_SLEEP = `${P}/replicas-before-sleep`;

/** The field managers, one per concern. */
export const MANAGER = {
  /** prenv's own objects: the namespace with its identity, and the guards. */
  identity: "prenv",
  state: "prenv-state",
  sleep: "prenv-sleep",
  repair: "prenv-repair",
  activity: "prenv-activity",
  warn: "prenv-warn",
  lifetime: "prenv-lifetime",
  unsettled: "prenv-unsettled",
} as const;

/**
 * deploying: being applied (or the job stopped while applying); rolling-out: applied, its rollout
 * checked by follow-up jobs (rollout.ts); ready; failed.
 */
export type EnvPhase = "deploying" | "rolling-out" | "ready" | "failed";
const PHASES = new Set<string>(["deploying", "rolling-out", "ready", "failed"]);

export interface EnvState {
  phase: EnvPhase;
  deployedSha: string;
  configHash: string;
  applied: ObjectRef[];
  /** Requested CPU and memory of the workloads, e.g. `cpu=1.5,memory=2Gi` (see cost.ts). */
  requests?: string;
  /** `rolling-out` only: when the rollout began. */
  rolloutSince?: Date;
}

/**
 * Whose environment a namespace is: the repository id and PR number prenv recorded on it (labels,
 * written by the bot only). A name can collide or be reused; these cannot be chosen by a requester.
 */
export interface Owner {
  repoId: number;
  pr: number;
}

/** What prenv knows of an environment, typed. Absent or malformed values are null. */
export interface EnvironmentView {
  name: string;
  terminating: boolean;
  owner: Owner | null;
  /** `owner/repo` as recorded, with its parts. */
  repository: { fullName: string; owner: string; repo: string } | null;
  /** The PR number in the annotations (the janitor cross-checks it with the label). */
  annotatedPr: number | null;
  installationId: number | null;
  queued: boolean;
  requestedAt: Date | null;
  createdAt: Date | null;
  expiresAt: Date | null;
  /** When an expiry warning is due; null once one was posted for the current expiry. */
  warnAt: Date | null;
  /** The expiry a warning was posted for, as written. */
  warnedFor: string | null;
  /** What the environment was built as; null for a queued placeholder (neither). */
  builtAs: Isolation | null;
  apiHost: string | null;
  state: EnvState | null;
  sleep: { sleeping: boolean; since: string | null; reason: SleepReason | null; policy: SleepPolicy | null };
  /** Last push or command, else creation: idle time counts from it. */
  lastActivity: Date | null;
  /** When prenv last re-applied the guards. */
  checkedAt: Date | null;
  /** Since when a job may have left the environment half done (see KEY.unsettledSince). */
  unsettledSince: Date | null;
}

function date(text: string | undefined): Date | null {
  const t = Date.parse(text ?? "");
  return Number.isNaN(t) ? null : new Date(t);
}

function int(text: string | undefined): number | null {
  const n = Number(text);
  return text !== undefined && text.trim() !== "" && Number.isSafeInteger(n) ? n : null;
}

/** The owner recorded on a namespace, or null when its labels are missing or malformed. */
export function ownerOf(env: { labels: Record<string, string> }): Owner | null {
  const repoId = int(env.labels[LABEL.repoId]);
  const pr = int(env.labels[LABEL.pr]);
  return repoId !== null && repoId > 0 && pr !== null && pr > 0 ? { repoId, pr } : null;
}

/** True when the namespace records exactly this repository id and PR number. */
export function ownedBy(env: { labels: Record<string, string> }, owner: Owner): boolean {
  const recorded = ownerOf(env);
  return recorded !== null && recorded.repoId === owner.repoId && recorded.pr === owner.pr;
}

export function isQueued(env: { labels: Record<string, string> }): boolean {
  return env.labels[LABEL.queued] === "true";
}

/** Whether a namespace carries prenv's managed-by label (prenv deletes no other). */
export function isManaged(labels: Record<string, string>): boolean {
  return Object.entries(MANAGED_BY).every(([k, v]) => labels[k] === v);
}

/** The label selector of every namespace prenv manages. */
export function managedSelector(): string {
  return Object.entries(MANAGED_BY)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

function sleepReason(text: string | undefined): SleepReason | null {
  return text === "idle" || text === "schedule" || text === "command" ? text : null;
}

export function readRecord(env: EnvironmentRecord): EnvironmentView {
  const a = env.annotations;
  const [owner, repo, ...rest] = (a[KEY.repository] ?? "").split("/");
  const createdAt = date(a[KEY.createdAt]);
  const warned = a[KEY.warnedFor] !== undefined && a[KEY.warnedFor] === a[KEY.expiresAt];
  const queued = isQueued(env);
  return {
    name: env.name,
    terminating: env.phase === "Terminating",
    owner: ownerOf(env),
    repository: owner && repo && rest.length === 0 ? { fullName: `${owner}/${repo}`, owner, repo } : null,
    annotatedPr: int(a[KEY.pr]),
    installationId: int(a[KEY.installation]),
    queued,
    requestedAt: date(a[KEY.requestedAt]),
    createdAt,
    expiresAt: date(a[KEY.expiresAt]),
    warnAt: warned ? null : date(a[KEY.warnAt]),
    warnedFor: a[KEY.warnedFor] ?? null,
    builtAs: queued ? null : a[KEY.isolation] === "vcluster" ? "vcluster" : "namespace",
    apiHost: a[KEY.apiHost] || null,
    state: decodeState(a),
    sleep: {
      sleeping: a[KEY.sleeping] === "true",
      since: a[KEY.asleepSince] || null,
      reason: sleepReason(a[KEY.sleepReason]),
      policy: decodePolicy(a[KEY.sleepPolicy]),
    },
    lastActivity: a[KEY.lastActivity] !== undefined ? date(a[KEY.lastActivity]) : createdAt,
    checkedAt: date(a[KEY.checkedAt]),
    unsettledSince: date(a[KEY.unsettledSince]),
  };
}

/**
 * Why the janitor cannot act on a namespace (its identity is missing, malformed or inconsistent),
 * naming the keys to look at; null when the record is whole.
 */
export function identityProblem(view: EnvironmentView): string | null {
  if (!view.repository || view.annotatedPr === null || view.installationId === null) {
    return `annotations ${KEY.repository}, ${KEY.pr} or ${KEY.installation} are missing or malformed`;
  }
  if (!view.owner || view.owner.pr !== view.annotatedPr) {
    return `labels ${LABEL.repoId} or ${LABEL.pr} are missing or do not match the annotations`;
  }
  return null;
}

// ---- Writing -------------------------------------------------------------------------------------

/** The identity of a live environment: labels to select it by, annotations written with its guards. */
export interface Identity {
  repository: string;
  pr: number;
  repoId: number;
  installationId: number;
  createdAt: Date;
  expiresAt: Date;
  warnAt: Date;
  sleepPolicy: SleepPolicy;
  isolation: Isolation;
  previewHost: string;
  ingressClass: string;
  gateway: { namespace: string; name: string };
  /** Only in vcluster mode. */
  apiHost: string | null;
}

export function identityLabels(owner: Owner, queued: boolean): Record<string, string> {
  return {
    ...MANAGED_BY,
    [LABEL.pr]: String(owner.pr),
    [LABEL.repoId]: String(owner.repoId),
    [LABEL.queued]: queued ? "true" : "false",
  };
}

export function identityAnnotations(id: Identity): Record<string, string> {
  return {
    [KEY.repository]: id.repository,
    [KEY.pr]: String(id.pr),
    [KEY.installation]: String(id.installationId),
    [KEY.createdAt]: id.createdAt.toISOString(),
    [KEY.expiresAt]: id.expiresAt.toISOString(),
    [KEY.warnAt]: id.warnAt.toISOString(),
    [KEY.sleepPolicy]: encodePolicy(id.sleepPolicy),
    [KEY.isolation]: id.isolation,
    [KEY.previewHost]: id.previewHost,
    [KEY.ingressClass]: id.ingressClass,
    [KEY.gateway]: `${id.gateway.namespace}/${id.gateway.name}`,
    ...(id.apiHost ? { [KEY.apiHost]: id.apiHost } : {}),
  };
}

/** The annotations of a queued PR's placeholder namespace. */
export function queuedAnnotations(q: {
  repository: string;
  pr: number;
  installationId: number;
  requestedAt: Date;
}): Record<string, string> {
  return {
    [KEY.repository]: q.repository,
    [KEY.pr]: String(q.pr),
    [KEY.installation]: String(q.installationId),
    [KEY.requestedAt]: q.requestedAt.toISOString(),
  };
}

/** The labels prenv puts on every object it applies inside an environment. */
export function appliedLabels(): Record<string, string> {
  return { ...MANAGED_BY, [LABEL.applied]: "true" };
}

/** Rewritten whole on every deploy. */
export function stateWrite(s: EnvState): AnnotationWrite {
  return {
    manager: MANAGER.state,
    annotations: {
      [KEY.phase]: s.phase,
      [KEY.deployedSha]: s.deployedSha,
      [KEY.configHash]: s.configHash,
      [KEY.applied]: encodeRefs(s.applied),
      ...(s.requests ? { [KEY.requests]: s.requests } : {}),
      ...(s.phase === "rolling-out" && s.rolloutSince
        ? { [KEY.rolloutSince]: s.rolloutSince.toISOString() }
        : {}),
    },
  };
}

export function sleepWrite(now: Date, reason: SleepReason): AnnotationWrite {
  return {
    manager: MANAGER.sleep,
    annotations: { [KEY.sleeping]: "true", [KEY.asleepSince]: now.toISOString(), [KEY.sleepReason]: reason },
  };
}

export function awakeWrite(): AnnotationWrite {
  return {
    manager: MANAGER.sleep,
    annotations: { [KEY.sleeping]: "false", [KEY.asleepSince]: "", [KEY.sleepReason]: "" },
  };
}

export function activityWrite(now: Date): AnnotationWrite {
  return { manager: MANAGER.activity, annotations: { [KEY.lastActivity]: now.toISOString() } };
}

export function checkedWrite(now: Date): AnnotationWrite {
  return { manager: MANAGER.repair, annotations: { [KEY.checkedAt]: now.toISOString() } };
}

export function warnedWrite(expiresAt: Date): AnnotationWrite {
  return { manager: MANAGER.warn, annotations: { [KEY.warnedFor]: expiresAt.toISOString() } };
}

/** A job's last attempt starts, or prenv gave up on a job: the janitor comes back to reconcile. */
export function unsettledWrite(now: Date): AnnotationWrite {
  return { manager: MANAGER.unsettled, annotations: { [KEY.unsettledSince]: now.toISOString() } };
}

/** A reconcile completed: whatever a job left half done is done. */
export function settledWrite(): AnnotationWrite {
  return { manager: MANAGER.unsettled, annotations: { [KEY.unsettledSince]: "" } };
}

export function expiryWrite(expiresAt: Date): AnnotationWrite {
  return { manager: MANAGER.lifetime, annotations: { [KEY.expiresAt]: expiresAt.toISOString() } };
}

/**
 * `env` as it is after `write`: commands change an environment and then reconcile from the same
 * record, without reading the namespace again.
 */
export function afterWrite(env: EnvironmentRecord, write: AnnotationWrite): EnvironmentRecord {
  return { ...env, annotations: { ...env.annotations, ...write.annotations } };
}

/** Reads state back; anything malformed (edited by hand) counts as "no state", forcing a redeploy. */
function decodeState(annotations: Record<string, string>): EnvState | null {
  const phase = annotations[KEY.phase] as EnvPhase | undefined;
  if (!phase || !PHASES.has(phase)) return null;
  const rolloutSince = date(annotations[KEY.rolloutSince]);
  let raw: unknown;
  try {
    raw = JSON.parse(annotations[KEY.applied] ?? "[]");
  } catch {
    return null;
  }
  if (!Array.isArray(raw)) return null;
  return {
    phase,
    deployedSha: annotations[KEY.deployedSha] ?? "",
    configHash: annotations[KEY.configHash] ?? "",
    applied: raw.flatMap(decodeRef),
    ...(annotations[KEY.requests] ? { requests: annotations[KEY.requests] } : {}),
    ...(phase === "rolling-out" && rolloutSince ? { rolloutSince } : {}),
  };
}
