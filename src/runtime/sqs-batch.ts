// One SQS (FIFO) batch for the worker: jobs run in order; a failure is reported back as a
// partial batch failure so only that message is retried. Later messages of the same message
// group in the batch are returned unprocessed too, keeping the PR's jobs in order. A job that
// fails on its last allowed receive tells the PR before SQS moves it to the dead-letter queue.
import type { ReconcileJob } from "../jobs/job.js";
import { parseJob } from "../jobs/schema.js";

export interface BatchRecord {
  messageId: string;
  body: string;
  attributes: { ApproximateReceiveCount?: string; MessageGroupId?: string };
}

export interface BatchDeps {
  run(job: ReconcileJob): Promise<void>;
  /** The message's redrive maxReceiveCount: on that receive a failure is final. */
  maxReceiveCount: number;
  giveUp(job: ReconcileJob, err: unknown): Promise<void>;
  log: { error(meta: object, msg: string): void; warn(meta: object, msg: string): void };
}

export async function processBatch(
  records: BatchRecord[],
  deps: BatchDeps,
): Promise<{ batchItemFailures: { itemIdentifier: string }[] }> {
  const failures: { itemIdentifier: string }[] = [];
  const failedGroups = new Set<string>();
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
      await deps.run(job);
    } catch (err) {
      failedGroups.add(group);
      failures.push({ itemIdentifier: record.messageId });
      const meta = {
        messageId: record.messageId,
        group,
        receives,
        err: err instanceof Error ? err.message : String(err),
      };
      if (receives >= deps.maxReceiveCount) {
        deps.log.error(meta, "job failed on its last attempt; it goes to the dead-letter queue");
        if (job) await deps.giveUp(job, err).catch(() => undefined);
      } else {
        deps.log.warn(meta, "job failed; SQS will retry it");
      }
    }
  }
  return { batchItemFailures: failures };
}
