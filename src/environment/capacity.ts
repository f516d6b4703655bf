// Caps on concurrent environments: operator-wide (PRENV_MAX_ENVIRONMENTS) and per repository
// (`maxEnvironments`). A PR over the cap gets a placeholder namespace (no workloads, no guards)
// that records when it asked; it is admitted when capacity frees up, oldest request first.
import type { EnvironmentRecord } from "./ports.js";
import { IDENTITY, LABELS } from "./state.js";

export function isQueued(env: EnvironmentRecord): boolean {
  return env.labels[LABELS.queued] === "true";
}

export interface CapacityVerdict {
  admit: boolean;
  /** Why not, in words for the PR comment. */
  reason: string;
  /** 1-based place in the queue when not admitted. */
  position: number;
}

export function capacity(
  all: EnvironmentRecord[],
  me: { namespace: string; repository: string; requestedAt: number },
  caps: { operator: number; repo: number | undefined },
): CapacityVerdict {
  const live = all.filter((e) => e.phase === "Active" && e.name !== me.namespace);
  const active = live.filter((e) => !isQueued(e));
  const repoActive = active.filter((e) => e.annotations[IDENTITY.repository] === me.repository);
  const ahead = (e: EnvironmentRecord) => {
    const t = Date.parse(e.annotations[IDENTITY.requestedAt] ?? "");
    return !Number.isNaN(t) && (t < me.requestedAt || (t === me.requestedAt && e.name < me.namespace));
  };
  const queuedAhead = live.filter((e) => isQueued(e) && ahead(e));
  const repoQueuedAhead = queuedAhead.filter((e) => e.annotations[IDENTITY.repository] === me.repository);
  const freeOperator = caps.operator > 0 ? caps.operator - active.length : Infinity;
  const freeRepo = caps.repo !== undefined ? caps.repo - repoActive.length : Infinity;
  if (freeOperator > queuedAhead.length && freeRepo > repoQueuedAhead.length) {
    return { admit: true, reason: "", position: 0 };
  }
  const reason =
    freeRepo <= repoQueuedAhead.length
      ? `This repository may have ${caps.repo} environment(s) at once (maxEnvironments) and ${repoActive.length} are running.`
      : `The cluster's limit of ${caps.operator} environments is reached (${active.length} running).`;
  return {
    admit: false,
    reason,
    position: (freeRepo <= repoQueuedAhead.length ? repoQueuedAhead : queuedAhead).length + 1,
  };
}
