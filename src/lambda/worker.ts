// SQS FIFO → reconcile each job; partial batch failures. See src/runtime/sqs-batch.ts.
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { botRoot, runJob } from "../runtime/root/bot.js";
import { processBatch } from "../runtime/sqs-batch.js";

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const root = await botRoot();
  return processBatch(event.Records, {
    run: (job, attempt) => runJob(root, job, attempt),
    maxReceiveCount: root.settings.aws.maxReceiveCount,
    giveUp: root.tell,
    lastAttempt: root.unsettle,
    log: root.log,
  });
}
