// Follow-up jobs in the AWS shape, on real SQS semantics (ElasticMQ): a job for later waits in a
// standard queue for its per-message delay; the relay then puts it into the jobs FIFO queue in its
// pull request's message group, behind what that PR has queued; relaying a message twice queues
// it once.
import { beforeEach, describe, expect, it } from "vitest";
import { SqsJobQueue } from "../../src/adapters/aws/sqs-queue.js";
import { rolloutCheckJob, type ReconcileJob } from "../../src/jobs/job.js";
import { relayBatch } from "../../src/runtime/relay.js";
import { delayQueue, fifoQueues, prenvSqs, receive, sqsClient } from "./sqs-helpers.js";

const sqs = sqsClient();
const silent = { error: () => undefined };
const pr = { installationId: 1, owner: "acme", repo: "web", number: 4 };
const check = { sha: "c".repeat(40), configHash: "0123456789abcdef", since: 0, attempt: 1 };
let fifo: string;
let later: string;
let queue: SqsJobQueue;

beforeEach(async () => {
  fifo = (await fifoQueues(sqs)).url;
  later = await delayQueue(sqs);
  queue = new SqsJobQueue(prenvSqs(), fifo, later);
});

async function due(): Promise<{ messageId: string; body: string }[]> {
  for (let i = 0; i < 40; i++) {
    const messages = await receive(sqs, later);
    if (messages.length > 0) return messages.map((m) => ({ messageId: m.MessageId!, body: m.Body! }));
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the follow-up never became due");
}

describe("follow-up jobs through the delay queue and the relay", () => {
  it("wait out their delay, then run in their PR's message group, after what the PR had queued", async () => {
    const job = rolloutCheckJob(pr, check, 77);
    const started = Date.now();
    await queue.enqueueLater(job, 1_000);
    expect(await receive(sqs, later)).toEqual([]);
    const records = await due();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);

    const push: ReconcileJob = { ...pr, repoId: 77, reason: "pull_request.synchronize", delivery: "push-1" };
    await queue.enqueue(push);
    expect(await relayBatch(records, { queue, log: silent })).toEqual({ batchItemFailures: [] });

    const messages = await receive(sqs, fifo);
    expect(messages.map((m) => JSON.parse(m.Body!) as ReconcileJob)).toEqual([push, job]);
    expect(messages.map((m) => m.Attributes?.MessageGroupId)).toEqual(["acme/web#4", "acme/web#4"]);
    expect(messages[1]!.Attributes?.MessageDeduplicationId).toBe(job.delivery);
  });

  it("queue a follow-up relayed twice once, and drop a malformed message without failing the batch", async () => {
    const job = rolloutCheckJob(pr, check, 77);
    const records = [{ messageId: "m-1", body: JSON.stringify(job) }];
    await relayBatch(records, { queue, log: silent });
    await relayBatch(records, { queue, log: silent });
    expect(await relayBatch([{ messageId: "m-2", body: "{not json" }], { queue, log: silent })).toEqual({
      batchItemFailures: [],
    });
    expect(await receive(sqs, fifo)).toHaveLength(1);
  });

  it("report a job it could not queue as a batch item failure, for SQS to retry", async () => {
    const broken = new SqsJobQueue(prenvSqs(), `${fifo}-gone`);
    const job = rolloutCheckJob(pr, check, 77);
    expect(
      await relayBatch([{ messageId: "m-3", body: JSON.stringify(job) }], { queue: broken, log: silent }),
    ).toEqual({
      batchItemFailures: [{ itemIdentifier: "m-3" }],
    });
  });
});
