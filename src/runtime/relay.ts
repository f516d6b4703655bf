// The relay: follow-up jobs wait in a standard SQS queue with a per-message delay (a FIFO queue
// has none); when one is due, the relay puts it into the jobs FIFO queue in its pull request's
// message group, behind whatever that PR has queued, so the PR's jobs still run one at a time and
// in order (docs/adr/0012). The job's delivery id is its deduplication id there: relaying a
// message twice (a retried batch) queues it once.
import type { JobQueue } from "../jobs/job.js";
import { parseJob } from "../jobs/schema.js";
import type { BatchRecord } from "./sqs-batch.js";

export interface RelayDeps {
  /** The jobs FIFO queue. */
  queue: JobQueue;
  log: { error(meta: object, msg: string): void };
}

export async function relayBatch(
  records: Pick<BatchRecord, "messageId" | "body">[],
  deps: RelayDeps,
): Promise<{ batchItemFailures: { itemIdentifier: string }[] }> {
  const failures: { itemIdentifier: string }[] = [];
  await Promise.all(
    records.map(async (record) => {
      let job;
      try {
        job = parseJob(record.body);
      } catch (err) {
        // Malformed: no retry can fix it; dropped (deleted), with a line saying so.
        deps.log.error(
          { messageId: record.messageId, err: (err as Error).message },
          "relay dropped a malformed job",
        );
        return;
      }
      try {
        await deps.queue.enqueue(job);
      } catch (err) {
        deps.log.error(
          { messageId: record.messageId, err: (err as Error).message },
          "relay could not queue a job; SQS will retry",
        );
        failures.push({ itemIdentifier: record.messageId });
      }
    }),
  );
  return { batchItemFailures: failures };
}
