// The jobs queue on AWS: SQS FIFO, one message group per pull request (docs/adr/0009).
import { SQSClient } from "@aws-sdk/client-sqs";
import { SqsJobQueue } from "../../adapters/aws/sqs-queue.js";
import type { Settings } from "../settings.js";

export function sqsQueue(settings: Settings): SqsJobQueue {
  const { queueUrl, region, sqsEndpoint } = settings.aws;
  if (!queueUrl) throw new Error("prenv cannot start: set PRENV_QUEUE_URL (the SQS FIFO queue URL)");
  const sqs = new SQSClient({ region, ...(sqsEndpoint ? { endpoint: sqsEndpoint } : {}) });
  return new SqsJobQueue(sqs, queueUrl);
}
