// One worker process of the chaos run: what Lambda's SQS event source mapping does for the worker
// function (serverless.yml: batch size 1), around prenv's real worker handler (src/lambda/worker.ts,
// built from this process's environment by the same composition root as on AWS). It receives one
// message at a time from the FIFO queue, runs the handler, deletes the message unless the handler
// reported it failed (a failed or unfinished message comes back after the visibility timeout, and
// after PRENV_MAX_RECEIVE_COUNT receives goes to the dead-letter queue), and stops the process
// when a job outlives CHAOS_JOB_TIMEOUT_MS, as Lambda ends an invocation at its timeout. It tells
// the chaos run when a job starts and ends (IPC), so that the run can kill it mid-job.
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { handler } from "../../src/lambda/worker.js";

const url = process.env.PRENV_QUEUE_URL!;
const timeoutMs = Number(process.env.CHAOS_JOB_TIMEOUT_MS ?? "60000");
const sqs = new SQSClient({
  region: process.env.AWS_REGION ?? "us-east-1",
  endpoint: process.env.PRENV_SQS_ENDPOINT,
});

const tell = (m: object) => process.send?.(m);
process.on("disconnect", () => process.exit(0));

for (;;) {
  const got = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 1,
      WaitTimeSeconds: 1,
      MessageSystemAttributeNames: ["All"],
    }),
  );
  for (const m of got.Messages ?? []) {
    const attributes = m.Attributes ?? {};
    tell({
      type: "start",
      id: m.MessageId,
      receives: Number(attributes.ApproximateReceiveCount ?? "1"),
      body: m.Body,
    });
    const timer = setTimeout(() => {
      tell({ type: "timeout", id: m.MessageId });
      process.exit(3);
    }, timeoutMs);
    const event = {
      Records: [
        {
          messageId: m.MessageId!,
          receiptHandle: m.ReceiptHandle!,
          body: m.Body ?? "",
          attributes,
          messageAttributes: {},
          md5OfBody: m.MD5OfBody ?? "",
          eventSource: "aws:sqs",
          eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:chaos.fifo",
          awsRegion: "us-east-1",
        },
      ],
    } as unknown as SQSEvent;
    let ok = false;
    try {
      const out = await handler(event);
      ok = out.batchItemFailures.length === 0;
    } catch {
      ok = false; // the whole invocation failed: the message comes back
    }
    clearTimeout(timer);
    if (ok) await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle! }));
    tell({ type: "end", id: m.MessageId, ok });
  }
}
