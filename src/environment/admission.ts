// Admission: caps on concurrent environments, operator-wide (PRENV_MAX_ENVIRONMENTS) and per
// repository (`maxEnvironments`). A PR over the cap gets a placeholder namespace (no workloads, no
// guards) that records when it asked; it is admitted when capacity frees up, oldest request first.
import { blankReport, say, type OpenCtx, type Outcome } from "./context.js";
import type { EnvironmentRecord } from "./ports.js";
import { identityLabels, queuedAnnotations, readRecord } from "./record.js";

export interface CapacityVerdict {
  admit: boolean;
  /** Why not, in words for the PR comment. */
  reason: string;
  /** 1-based place in the queue when not admitted. */
  position: number;
}

export interface CapacityRequest {
  namespace: string;
  repository: string;
  /** When the PR first asked (ms); earlier requests are admitted first. */
  requestedAt: number;
}

export interface Caps {
  /** Operator-wide; 0: no limit. */
  operator: number;
  /** The repository's `maxEnvironments`, if any. */
  repo: number | undefined;
}

/** Whether `me` fits under the caps, given every environment on the host. Pure. */
export function capacity(all: EnvironmentRecord[], me: CapacityRequest, caps: Caps): CapacityVerdict {
  const live = all
    .filter((e) => e.phase === "Active" && e.name !== me.namespace)
    .map((e) => ({ name: e.name, view: readRecord(e) }));
  const active = live.filter((e) => !e.view.queued);
  const ofRepo = (e: (typeof live)[number]) => e.view.repository?.fullName === me.repository;
  const repoActive = active.filter(ofRepo);
  const ahead = (e: (typeof live)[number]) => {
    const t = e.view.requestedAt?.getTime();
    return t !== undefined && (t < me.requestedAt || (t === me.requestedAt && e.name < me.namespace));
  };
  const queuedAhead = live.filter((e) => e.view.queued && ahead(e));
  const repoQueuedAhead = queuedAhead.filter(ofRepo);
  const freeOperator = caps.operator > 0 ? caps.operator - active.length : Infinity;
  const freeRepo = caps.repo !== undefined ? caps.repo - repoActive.length : Infinity;
  if (freeOperator > queuedAhead.length && freeRepo > repoQueuedAhead.length) {
    return { admit: true, reason: "", position: 0 };
  }
  const repoFull = freeRepo <= repoQueuedAhead.length;
  const reason = repoFull
    ? `This repository may have ${caps.repo} environment(s) at once (maxEnvironments) and ${repoActive.length} are running.`
    : `The cluster's limit of ${caps.operator} environments is reached (${active.length} running).`;
  return { admit: false, reason, position: (repoFull ? repoQueuedAhead : queuedAhead).length + 1 };
}

/** A new (or queued) environment must fit under the caps; otherwise it waits in the queue. */
export async function admission(ctx: OpenCtx, env: EnvironmentRecord | null): Promise<Outcome | null> {
  const { deps, pr } = ctx;
  const caps = { operator: deps.settings.maxEnvironments, repo: ctx.config.maxEnvironments };
  if (caps.operator === 0 && caps.repo === undefined) return null;
  const repository = `${ctx.ref.owner}/${ctx.ref.repo}`;
  const asked = (env ? readRecord(env).requestedAt : null) ?? deps.clock.now();
  const verdict = capacity(
    await deps.cluster.listEnvironments(),
    { namespace: ctx.namespace, repository, requestedAt: asked.getTime() },
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
          ...identityLabels({ repoId: pr.repoId, pr: pr.number }, true),
          // deploy/policy.yaml admits no prenv namespace without Pod Security enforced.
          "pod-security.kubernetes.io/enforce": "restricted",
        },
        annotations: queuedAnnotations({
          repository,
          pr: pr.number,
          installationId: ctx.ref.installationId,
          requestedAt: asked,
        }),
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
