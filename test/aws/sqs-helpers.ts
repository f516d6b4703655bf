// A tiny stand-in for Lambda's SQS event source mapping, driving real SQS semantics (ElasticMQ):
// receive a batch with its attributes, run prenv's batch processor, delete what succeeded and make
// the reported failures visible again at once.
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { inject } from "vitest";
import { AwsJsonClient, SQS } from "../../src/adapters/aws/json-api.js";
import type { BatchRecord } from "../../src/runtime/sqs-batch.js";

export function sqsClient(): SQSClient {
  return new SQSClient({
    region: "us-east-1",
    endpoint: inject("sqsEndpoint"),
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
}

/** prenv's own SQS client (src/adapters/aws/json-api.ts), on the same ElasticMQ. */
export function prenvSqs(): AwsJsonClient {
  return new AwsJsonClient(SQS, {
    region: "us-east-1",
    endpoint: inject("sqsEndpoint"),
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
}

let n = 0;

/** A FIFO jobs queue with a FIFO dead-letter queue, as serverless.yml declares them. */
export async function fifoQueues(
  sqs: SQSClient,
  maxReceiveCount = 2,
): Promise<{ url: string; dlqUrl: string }> {
  const name = `t${process.pid}-${++n}-${Date.now() % 100000}`;
  const dlq = await sqs.send(
    new CreateQueueCommand({ QueueName: `${name}-dlq.fifo`, Attributes: { FifoQueue: "true" } }),
  );
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }))
  ).Attributes!.QueueArn!;
  const q = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${name}.fifo`,
      Attributes: {
        FifoQueue: "true",
        ContentBasedDeduplication: "false",
        VisibilityTimeout: "30",
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
      },
    }),
  );
  return { url: q.QueueUrl!, dlqUrl: dlq.QueueUrl! };
}

/** A standard queue as serverless.yml declares the delay queue (per-message delays). */
export async function delayQueue(sqs: SQSClient): Promise<string> {
  const name = `t${process.pid}-${++n}-${Date.now() % 100000}-later`;
  const q = await sqs.send(
    new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: "30" } }),
  );
  return q.QueueUrl!;
}

export async function receive(sqs: SQSClient, url: string, max = 10) {
  const res = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: max,
      MessageSystemAttributeNames: ["All"],
      WaitTimeSeconds: 0,
    }),
  );
  return res.Messages ?? [];
}

/** One poll of the event source: returns how many messages it handed over. */
export async function pollOnce(
  sqs: SQSClient,
  url: string,
  handle: (records: BatchRecord[]) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>,
): Promise<number> {
  const messages = await receive(sqs, url);
  if (messages.length === 0) return 0;
  const records: BatchRecord[] = messages.map((m) => ({
    messageId: m.MessageId!,
    body: m.Body ?? "",
    attributes: {
      ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount,
      MessageGroupId: m.Attributes?.MessageGroupId,
    },
  }));
  const { batchItemFailures } = await handle(records);
  const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
  const ok = messages.filter((m) => !failed.has(m.MessageId!));
  const bad = messages.filter((m) => failed.has(m.MessageId!));
  if (ok.length > 0) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: ok.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
  }
  if (bad.length > 0) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: bad.map((m, i) => ({
          Id: String(i),
          ReceiptHandle: m.ReceiptHandle!,
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
  return messages.length;
}
