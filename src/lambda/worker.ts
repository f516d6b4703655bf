// SQS FIFO → reconcile each job; partial batch failures. See src/runtime/sqs-batch.ts.
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { botRuntime, reportGiveUp, runJob } from "../runtime/aws.js";
import { processBatch } from "../runtime/sqs-batch.js";

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const rt = await botRuntime();
  return processBatch(event.Records, {
    run: (job) => runJob(rt, job),
    maxReceiveCount: rt.env.PRENV_MAX_RECEIVE_COUNT,
    giveUp: (job, err) => reportGiveUp(rt, job, err),
    log: rt.log,
  });
}
