// JobQueue on SQS FIFO: one message group per pull request (ordered), the GitHub delivery id as
// the deduplication id (a redelivered webhook becomes one job).
import { createHash } from "node:crypto";
import { jobKey, type JobQueue, type ReconcileJob } from "../../jobs/job.js";
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

export class SqsJobQueue implements JobQueue {
  /** `sqs`: an AwsJsonClient for SQS (json-api.ts). */
  constructor(
    private readonly sqs: AwsJsonClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(job: ReconcileJob): Promise<void> {
    await this.sqs.call("SendMessage", messageFor(job, this.queueUrl));
  }
}
