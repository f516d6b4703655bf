// A job asks to reconcile one pull request. It is all a webhook hands to the queue.

export interface ReconcileJob {
  installationId: number;
  owner: string;
  repo: string;
  number: number;
  /** The repository's id (events carry it; environments record it). Absent in older messages. */
  repoId?: number;
  /** The event that asked, e.g. `pull_request.synchronize` (for logs only: reconcile reads fresh state). */
  reason: string;
  /** GitHub delivery id (x-github-delivery), for logs and de-duplication. */
  delivery: string;
  /** For `issue_comment` events: the comment whose `/env` commands to run (read fresh by the worker). */
  commentId?: number;
  /**
   * From the janitor: the repository looked gone (or replaced); delete the environment recorded
   * for `repoId` and `number` if GitHub still says so (src/environment/purge.ts).
   */
  purge?: true;
  /** A follow-up look at a rollout (src/environment/rollout.ts), scheduled by the deploy. */
  check?: RolloutCheck;
}

/**
 * Which rollout a follow-up job looks at: a check whose commit, config or rollout (a redeploy of the
 * same commit starts another) is no longer the one in progress does nothing.
 */
export interface RolloutCheck {
  sha: string;
  configHash: string;
  /** When the rollout began (ms since the epoch), as the namespace records it. */
  since: number;
  /** 1 for the first follow-up; with sha, config and since it makes the job's delivery (deduplication) id. */
  attempt: number;
}

/** The follow-up job that looks at `check`'s rollout of the PR `of` asked about. */
export function rolloutCheckJob(
  of: Pick<ReconcileJob, "installationId" | "owner" | "repo" | "number">,
  check: RolloutCheck,
  repoId: number,
): ReconcileJob {
  const { installationId, owner, repo, number } = of;
  return {
    installationId,
    owner,
    repo,
    number,
    repoId,
    reason: "rollout.check",
    // One id per PR, commit, config, rollout and attempt: a follow-up scheduled twice runs once,
    // and a redeploy of the same commit (reopen, /env redeploy) gets follow-ups of its own.
    delivery: `check:${jobKey(of)}:${check.sha.slice(0, 12)}:${check.configHash}:${check.since.toString(36)}:${check.attempt}`,
    check,
  };
}

/** Jobs for the same key run one at a time, in order (the SQS FIFO message group on AWS). */
export function jobKey(job: Pick<ReconcileJob, "owner" | "repo" | "number">): string {
  return `${job.owner}/${job.repo}#${job.number}`.toLowerCase();
}

export interface JobQueue {
  enqueue(job: ReconcileJob): Promise<void>;
}

/**
 * Jobs that run later, in their pull request's order like any other (on AWS: a delay queue whose
 * relay puts them into the PR's FIFO message group when due; docs/adr/0012).
 */
export interface LaterQueue {
  enqueueLater(job: ReconcileJob, delayMs: number): Promise<void>;
}
