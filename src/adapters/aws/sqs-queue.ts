// JobQueue on SQS FIFO: one message group per pull request (ordered), the GitHub delivery id as
// the deduplication id (a redelivered webhook becomes one job). Jobs for later go to a standard
// queue with a per-message delay (FIFO queues have none); when one is due, the relay function puts
// it into its PR's message group (src/runtime/relay.ts, docs/adr/0012).
import { createHash } from "node:crypto";
import { jobKey, type JobQueue, type LaterQueue, type ReconcileJob } from "../../jobs/job.js";
import type { AwsJsonClient } from "./json-api.js";

const MAX_ID = 128;
const ALLOWED = /^[\x21-\x7e]+$/; // SQS: alphanumerics and punctuation

/** Group and dedup ids are at most 128 printable ASCII characters; longer or odd ones are hashed. */
export function sqsId(value: string): string {
  if (value.length <= MAX_ID && ALLOWED.test(value)) return value;
  const hash = createHash("sha256").update(value).digest("hex");
  const head = value.replace(/[^\x21-\x7e]/g, "_").slice(0, MAX_ID - hash.length - 1);
  return `${head}~${hash}`;
}

export function messageFor(job: ReconcileJob, queueUrl: string) {
  return {
    QueueUrl: queueUrl,
    MessageBody: JSON.stringify(job),
    MessageGroupId: sqsId(jobKey(job)),
    MessageDeduplicationId: sqsId(job.delivery),
  };
}

/** SQS's longest per-message delay. */
export const MAX_DELAY_SECONDS = 900;

export class SqsJobQueue implements JobQueue, LaterQueue {
  /** `sqs`: an AwsJsonClient for SQS (json-api.ts). */
  constructor(
    private readonly sqs: AwsJsonClient,
    private readonly queueUrl: string,
    /** The standard delay queue; without it, jobs for later cannot be enqueued. */
    private readonly delayQueueUrl?: string,
  ) {}

  async enqueue(job: ReconcileJob): Promise<void> {
    await this.sqs.call("SendMessage", messageFor(job, this.queueUrl));
  }

  async enqueueLater(job: ReconcileJob, delayMs: number): Promise<void> {
    if (!this.delayQueueUrl)
      throw new Error("prenv cannot schedule a follow-up job: set PRENV_DELAY_QUEUE_URL");
    await this.sqs.call("SendMessage", {
      QueueUrl: this.delayQueueUrl,
      MessageBody: JSON.stringify(job),
      DelaySeconds: Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(delayMs / 1000))),
    });
  }
}
