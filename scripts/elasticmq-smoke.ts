// Smoke test of the local SQS stand-in (`bash scripts/elasticmq.sh start` first): proves that
// ElasticMQ behaves like the SQS FIFO queue prenv relies on, through the same AWS SDK client.
//   - a FIFO queue without content-based deduplication refuses a message with no dedup id;
//   - a repeated MessageDeduplicationId is dropped (a redelivered webhook enqueues once);
//   - messages of one MessageGroupId (one pull request) come back in the order sent;
//   - the queues scripts/elasticmq.sh pre-creates match serverless.yml.
// Usage: npx tsx scripts/elasticmq-smoke.ts   (port: ELASTICMQ_PORT, default 9324)
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";

const endpoint = `http://127.0.0.1:${process.env.ELASTICMQ_PORT ?? "9324"}`;
const sqs = new SQSClient({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "local", secretAccessKey: "local" },
  maxAttempts: 1,
});

async function receiveAll(queueUrl: string, want: number): Promise<(string | undefined)[]> {
  const bodies: (string | undefined)[] = [];
  // Bounded: at most 5 one-second long polls.
  for (let i = 0; i < 5 && bodies.length < want; i++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    if (Messages.length === 0) continue;
    bodies.push(...Messages.map((m) => m.Body));
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
  return bodies;
}

async function checkFifoSemantics() {
  const name = `prenv-smoke-${randomUUID().slice(0, 8)}.fifo`;
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: { FifoQueue: "true", ContentBasedDeduplication: "false", VisibilityTimeout: "30" },
    }),
  );
  assert.ok(QueueUrl, "CreateQueue returned no QueueUrl");
  try {
    const group = "acme/web#12";
    const send = (body: string, dedup?: string) =>
      sqs.send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody: body,
          MessageGroupId: group,
          ...(dedup ? { MessageDeduplicationId: dedup } : {}),
        }),
      );

    await assert.rejects(send("no dedup id"), "a message without MessageDeduplicationId was accepted");
    await send("first", "delivery-1");
    await send("second", "delivery-2");
    await send("first again", "delivery-1"); // same delivery id: must be dropped

    const bodies = await receiveAll(QueueUrl, 2);
    assert.deepEqual(bodies, ["first", "second"]);
    assert.deepEqual(await receiveAll(QueueUrl, 1), [], "the duplicate was delivered");
  } finally {
    await sqs.send(new DeleteQueueCommand({ QueueUrl }));
  }
}

async function checkPrecreatedQueues() {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: "prenv-jobs-local.fifo" }));
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }),
  );
  assert.equal(Attributes.FifoQueue, "true");
  assert.equal(Attributes.ContentBasedDeduplication, "false");
  assert.equal(Attributes.VisibilityTimeout, "4320");
  const redrive = JSON.parse(Attributes.RedrivePolicy ?? "{}") as {
    maxReceiveCount?: number | string;
    deadLetterTargetArn?: string;
  };
  assert.equal(Number(redrive.maxReceiveCount), 5);
  assert.match(String(redrive.deadLetterTargetArn), /:prenv-jobs-dlq-local\.fifo$/);
}

try {
  await checkFifoSemantics();
  await checkPrecreatedQueues();
  console.log(`elasticmq smoke: OK (${endpoint}): dedup id honoured, 2 unique messages in group order`);
} catch (err) {
  console.error(
    `elasticmq smoke: FAILED against ${endpoint} (is it running? bash scripts/elasticmq.sh start)`,
  );
  console.error(err);
  process.exitCode = 1;
} finally {
  sqs.destroy();
}
