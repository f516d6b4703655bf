// One SQS (FIFO) batch for the worker: jobs run in order; a failure is reported back as a
// partial batch failure so only that message is retried. Later messages of the same message
// group in the batch are returned unprocessed too, keeping the PR's jobs in order. What a failure
// means follows the error policy (src/runtime/failures.ts): retried by SQS while receives are
// left; on the last one the PR is told and SQS moves the job to the dead-letter queue; an error
// the policy says to report is told at once and the message is deleted (not retried).
import type { ReconcileJob } from "../jobs/job.js";
import { parseJob } from "../jobs/schema.js";
import type { Stop } from "../report/failure.js";
import { errorMeta, verdict } from "./failures.js";

export interface BatchRecord {
  messageId: string;
  body: string;
  attributes: { ApproximateReceiveCount?: string; MessageGroupId?: string };
}

export interface BatchDeps {
  /** `attempt`: the message's receive count (above 1, an earlier receive did not finish). */
  run(job: ReconcileJob, attempt: number): Promise<void>;
  /** The message's redrive maxReceiveCount: on that receive a failure is final. */
  maxReceiveCount: number;
  /** Tells the PR that prenv stopped working on the job (gave up, or reports the error). */
  giveUp(job: ReconcileJob, err: unknown, stop: Stop): Promise<void>;
  /**
   * Before a job's last attempt: marks its environment unsettled, so that the janitor repairs what
   * the job may leave half done even if it never ends (killed, timed out) and nothing else runs.
   */
  lastAttempt?(job: ReconcileJob): Promise<void>;
  log: { error(meta: object, msg: string): void; warn(meta: object, msg: string): void };
}

export async function processBatch(
  records: BatchRecord[],
  deps: BatchDeps,
): Promise<{ batchItemFailures: { itemIdentifier: string }[] }> {
  const failures: { itemIdentifier: string }[] = [];
  const failedGroups = new Set<string>();
  const fail = (record: BatchRecord, group: string) => {
    failedGroups.add(group);
    failures.push({ itemIdentifier: record.messageId });
  };
  for (const record of records) {
    const group = record.attributes.MessageGroupId ?? record.messageId;
    if (failedGroups.has(group)) {
      failures.push({ itemIdentifier: record.messageId });
      continue;
    }
    const receives = Number(record.attributes.ApproximateReceiveCount ?? "1");
    let job: ReconcileJob | undefined;
    try {
      job = parseJob(record.body);
      if (receives >= deps.maxReceiveCount) await deps.lastAttempt?.(job).catch(() => undefined);
      await deps.run(job, receives);
    } catch (err) {
      const meta = { messageId: record.messageId, group, receives, err: errorMeta(err).message };
      const v = verdict(err, receives, { maxAttempts: deps.maxReceiveCount, deadLetter: true });
      if (v.retry) {
        fail(record, group);
        deps.log.warn(meta, "job failed; SQS will retry it");
      } else if (v.stop.kind === "gave-up") {
        fail(record, group);
        deps.log.error(meta, "job failed on its last attempt; it goes to the dead-letter queue");
        if (job) await deps.giveUp(job, err, v.stop).catch(() => undefined);
      } else if (job) {
        deps.log.error(meta, "job failed with an error prenv reports instead of retrying; the PR is told");
        await deps.giveUp(job, err, v.stop).catch(() => undefined);
      }
    }
  }
  return { batchItemFailures: failures };
}
