// The jobs queue on AWS: SQS FIFO, one message group per pull request (docs/adr/0009), and the
// delay queue of follow-up jobs (docs/adr/0012).
import { AwsJsonClient, SQS, type AwsCredentials } from "../../adapters/aws/json-api.js";
import { SqsJobQueue } from "../../adapters/aws/sqs-queue.js";
import type { Settings } from "../settings.js";

export function sqsQueue(settings: Settings, credentials: AwsCredentials): SqsJobQueue {
  const { queueUrl, delayQueueUrl, region, sqsEndpoint } = settings.aws;
  if (!queueUrl) throw new Error("prenv cannot start: set PRENV_QUEUE_URL (the SQS FIFO queue URL)");
  const sqs = new AwsJsonClient(SQS, { region, credentials, endpoint: sqsEndpoint });
  return new SqsJobQueue(sqs, queueUrl, delayQueueUrl);
}
