// SQS (the delay queue) → each due follow-up job into its PR's FIFO message group. See src/runtime/relay.ts.
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { relayBatch } from "../runtime/relay.js";
import { relayRoot } from "../runtime/root/relay.js";

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  return relayBatch(event.Records, await relayRoot());
}
