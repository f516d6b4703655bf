// An environment's state lives on its namespace: labels to select by, annotations for the rest.
// No other database; the host cluster is the source of truth.
import type { ObjectRef } from "./ports.js";

export const MANAGED_BY = { "app.kubernetes.io/managed-by": "prenv" } as const;
const P = "prenv.dev";

export const LABELS = {
  pr: `${P}/pr`,
  repoId: `${P}/repo-id`,
  /** "true" on the placeholder namespace of a PR waiting for capacity. */
  queued: `${P}/queued`,
  /** Put on every object prenv applies inside a PR namespace. */
  applied: `${P}/applied`,
} as const;

/** Written once, with the guards (field manager `prenv`). */
export const IDENTITY = {
  repository: `${P}/repository`,
  pr: `${P}/pr`,
  installation: `${P}/installation`,
  createdAt: `${P}/created-at`,
  expiresAt: `${P}/expires-at`,
  /** When a queued PR first asked for an environment (queue order). */
  requestedAt: `${P}/requested-at`,
  /** `namespace` or `vcluster`: what the environment was built as. */
  isolation: `${P}/isolation`,
  /** The preview host: Ingresses in the namespace may serve it and its subdomains only (deploy/policy.yaml). */
  previewHost: `${P}/preview-host`,
  /** The virtual cluster's API host (vcluster mode only); served by prenv's own Ingress alone. */
  apiHost: `${P}/api-host`,
  /** The IngressClass Ingresses in the namespace must name (deploy/policy.yaml). */
  ingressClass: `${P}/ingress-class`,
} as const;

/** Rewritten whole on every deploy (field manager `prenv-state`). */
export const STATE = {
  phase: `${P}/state`,
  deployedSha: `${P}/deployed-sha`,
  configHash: `${P}/config-hash`,
  applied: `${P}/applied-objects`,
  requests: `${P}/requests`,
} as const;

/** Sleep state (field manager `prenv-sleep`). */
export const SLEEP = {
  sleeping: `${P}/sleeping`,
  since: `${P}/asleep-since`,
  /** idle | schedule | command */
  reason: `${P}/sleep-reason`,
  /** The repo's sleep settings (written with the guards) so the janitor can decide without GitHub. */
  policy: `${P}/sleep-policy`,
} as const;

/** When prenv last re-applied the guards (field manager `prenv-repair`); see REPAIR_EVERY_MS. */
export const CHECKED_AT = `${P}/checked-at`;
export const REPAIR_MANAGER = "prenv-repair";
/** How often the janitor has an environment's guards re-applied, repairing drift. */
export const REPAIR_EVERY_MS = 6 * 3600_000;

/** Last push or command (field manager `prenv-activity`): idle time is counted from it. */
export const LAST_ACTIVITY = `${P}/last-activity`;
export const ACTIVITY_MANAGER = "prenv-activity";
export const SLEEP_MANAGER = "prenv-sleep";

/** The expiry a warning was posted for (field manager `prenv-warn`). */
export const WARNED = `${P}/expiry-warned-for`;
export const WARN_MANAGER = "prenv-warn";
/** When the janitor should come back to warn (written with the guards). */
export const WARN_AT = `${P}/warn-at`;

/** Lifetime changes by `/env extend` (field manager `prenv-lifetime`). */
export const LIFETIME_MANAGER = "prenv-lifetime";

/**
 * Whose environment a namespace is: the repository id and PR number prenv recorded on it (labels,
 * written by the bot only). A name can collide or be reused; these cannot be chosen by a requester.
 */
export interface Owner {
  repoId: number;
  pr: number;
}

/** The owner recorded on a namespace, or null when its labels are missing or malformed. */
export function ownerOf(env: { labels: Record<string, string> }): Owner | null {
  const repoId = Number(env.labels[LABELS.repoId]);
  const pr = Number(env.labels[LABELS.pr]);
  return Number.isSafeInteger(repoId) && repoId > 0 && Number.isSafeInteger(pr) && pr > 0
    ? { repoId, pr }
    : null;
}

/** True when the namespace records exactly this repository id and PR number. */
export function ownedBy(env: { labels: Record<string, string> }, owner: Owner): boolean {
  const recorded = ownerOf(env);
  return recorded !== null && recorded.repoId === owner.repoId && recorded.pr === owner.pr;
}

export type EnvPhase = "deploying" | "ready" | "failed";

export interface EnvState {
  phase: EnvPhase;
  deployedSha: string;
  configHash: string;
  applied: ObjectRef[];
  /** Requested CPU and memory of the workloads, e.g. `cpu=1.5,memory=2Gi` (see cost.ts). */
  requests?: string;
}

export function encodeState(s: EnvState): Record<string, string> {
  return {
    [STATE.phase]: s.phase,
    [STATE.deployedSha]: s.deployedSha,
    [STATE.configHash]: s.configHash,
    [STATE.applied]: JSON.stringify(
      s.applied.map((r) =>
        r.namespace === undefined
          ? [r.apiVersion, r.kind, r.name]
          : [r.apiVersion, r.kind, r.name, r.namespace],
      ),
    ),
    ...(s.requests ? { [STATE.requests]: s.requests } : {}),
  };
}

/** Reads state back; anything malformed (edited by hand) counts as "no state", forcing a redeploy. */
export function decodeState(annotations: Record<string, string>): EnvState | null {
  const phase = annotations[STATE.phase];
  if (phase !== "deploying" && phase !== "ready" && phase !== "failed") return null;
  let applied: ObjectRef[] = [];
  try {
    const raw = JSON.parse(annotations[STATE.applied] ?? "[]") as unknown;
    if (!Array.isArray(raw)) return null;
    applied = raw.flatMap((r: unknown) => {
      if (!Array.isArray(r) || r.length < 3 || r.length > 4 || !r.every((x) => typeof x === "string"))
        return [];
      const [apiVersion, kind, name, namespace] = r;
      return [
        {
          apiVersion: apiVersion!,
          kind: kind!,
          name: name!,
          ...(namespace !== undefined ? { namespace } : {}),
        },
      ];
    });
  } catch {
    return null;
  }
  return {
    phase,
    deployedSha: annotations[STATE.deployedSha] ?? "",
    configHash: annotations[STATE.configHash] ?? "",
    applied,
    ...(annotations[STATE.requests] ? { requests: annotations[STATE.requests] } : {}),
  };
}

/** Identity of an applied object for pruning: API group, not version, so moving a manifest from
 * v1beta1 to v1 does not prune the object it just applied. Inside a virtual cluster the namespace
 * is part of it (`""` for cluster-scoped objects). */
export function refKey(r: ObjectRef): string {
  const group = r.apiVersion.includes("/") ? r.apiVersion.slice(0, r.apiVersion.indexOf("/")) : "core";
  return r.namespace === undefined
    ? `${group}/${r.kind}/${r.name}`
    : `${group}/${r.kind}/${r.namespace}/${r.name}`;
}
