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
}

/** Jobs for the same key run one at a time, in order (the SQS FIFO message group on AWS). */
export function jobKey(job: Pick<ReconcileJob, "owner" | "repo" | "number">): string {
  return `${job.owner}/${job.repo}#${job.number}`.toLowerCase();
}

export interface JobQueue {
  enqueue(job: ReconcileJob): Promise<void>;
}
