// The webhook handler and the worker's batch processing against a real SQS-compatible server
// (ElasticMQ, FIFO): real signed payloads in, real messages out, FIFO ordering, deduplication,
// partial batch failures and the dead-letter queue.
import { Webhooks } from "@octokit/webhooks";
import { beforeEach, describe, expect, it } from "vitest";
import { prenvApp } from "../../src/app.js";
import { SqsJobQueue } from "../../src/adapters/aws/sqs-queue.js";
import type { ReconcileJob } from "../../src/jobs/job.js";
import { processBatch } from "../../src/runtime/sqs-batch.js";
import { createWebhookHandler, type WebhookRequest } from "../../src/runtime/webhook-handler.js";
import { APP_ID, WEBHOOK_SECRET, sign } from "../support/app-key.js";
import { examplePayload, pullRequestPayload } from "../support/payloads.js";
import { fifoQueues, pollOnce, prenvSqs, receive, sqsClient } from "./sqs-helpers.js";

const sqs = sqsClient();
const silent = { error: () => undefined, warn: () => undefined };
let queue: { url: string; dlqUrl: string };
let handle: ReturnType<typeof createWebhookHandler>;

beforeEach(async () => {
  queue = await fifoQueues(sqs);
  // As the webhook Lambda runs: prenv's handlers on @octokit/webhooks, no GitHub credentials.
  const events = new Webhooks({ secret: WEBHOOK_SECRET });
  prenvApp({ queue: new SqsJobQueue(prenvSqs(), queue.url), appId: APP_ID })(events);
  handle = createWebhookHandler({ events, secret: WEBHOOK_SECRET });
});

function request(
  event: string,
  payload: unknown,
  delivery: string,
  opts: { signature?: string; base64?: boolean } = {},
): WebhookRequest {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  return {
    headers: {
      "X-GitHub-Event": event,
      "X-GitHub-Delivery": delivery,
      "X-Hub-Signature-256": opts.signature ?? sign(body),
      "content-type": "application/json",
    },
    body: opts.base64 ? Buffer.from(body).toString("base64") : body,
    isBase64Encoded: opts.base64 ?? false,
  };
}

describe("webhook handler → SQS FIFO", () => {
  it("enqueues one message per signed pull_request delivery, grouped by PR and deduplicated by delivery id", async () => {
    const res = await handle(request("pull_request", examplePayload("pull_request", "opened"), "delivery-1"));
    expect(res.statusCode).toBe(202);
    const messages = await receive(sqs, queue.url);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.Attributes).toMatchObject({
      MessageGroupId: "codertocat/hello-world#2",
      MessageDeduplicationId: "delivery-1",
    });
    expect(JSON.parse(messages[0]!.Body!)).toMatchObject({
      owner: "Codertocat",
      repo: "Hello-World",
      number: 2,
      delivery: "delivery-1",
    });
  });

  it("accepts a base64-encoded body (API Gateway binary mode)", async () => {
    const res = await handle(
      request("pull_request", examplePayload("pull_request", "opened"), "delivery-b64", { base64: true }),
    );
    expect(res.statusCode).toBe(202);
    expect(await receive(sqs, queue.url)).toHaveLength(1);
  });

  it("turns a redelivered delivery into one job", async () => {
    const payload = examplePayload("pull_request", "synchronize");
    for (let i = 0; i < 3; i++)
      expect((await handle(request("pull_request", payload, "same-delivery"))).statusCode).toBe(202);
    expect(await receive(sqs, queue.url)).toHaveLength(1);
  });

  it.each<[string, () => WebhookRequest, number]>([
    [
      "a bad signature",
      () =>
        request("pull_request", examplePayload("pull_request", "opened"), "d", { signature: sign("other") }),
      401,
    ],
    [
      "a missing signature",
      () => {
        const r = request("pull_request", examplePayload("pull_request", "opened"), "d");
        delete r.headers["X-Hub-Signature-256"];
        return r;
      },
      401,
    ],
    [
      "a missing event header",
      () => {
        const r = request("pull_request", examplePayload("pull_request", "opened"), "d");
        delete r.headers["X-GitHub-Event"];
        return r;
      },
      400,
    ],
    ["a body that is not JSON", () => request("pull_request", "{not json", "d"), 400],
    [
      "an oversized body",
      () => request("pull_request", JSON.stringify({ pad: "x".repeat(1024 * 1024) }), "d"),
      413,
    ],
    ["an event prenv does not handle", () => request("issues", examplePayload("issues", "opened"), "d"), 202],
    [
      "an action prenv does not handle",
      () => request("pull_request", examplePayload("pull_request", "assigned"), "d"),
      202,
    ],
  ])("rejects or ignores %s and enqueues nothing", async (_name, make, status) => {
    const res = await handle(make());
    expect(res.statusCode).toBe(status);
    expect(await receive(sqs, queue.url)).toEqual([]);
  });
});

describe("worker batches on SQS FIFO", () => {
  it("runs each PR's jobs in order and never two of one PR at once, across concurrent pollers", async () => {
    const q = new SqsJobQueue(prenvSqs(), queue.url);
    const sent: Record<number, string[]> = { 1: [], 2: [], 3: [] };
    // Events for three PRs arrive interleaved and concurrently across PRs (each PR's in order).
    await Promise.all(
      [1, 2, 3].map(async (pr) => {
        for (let i = 0; i < 6; i++) {
          const delivery = `pr${pr}-event${i}`;
          sent[pr]!.push(delivery);
          await q.enqueue({
            installationId: 1,
            owner: "acme",
            repo: "web",
            number: pr,
            reason: "test",
            delivery,
          });
        }
      }),
    );
    const seen: Record<number, string[]> = { 1: [], 2: [], 3: [] };
    const running = new Set<number>();
    const overlaps: number[] = [];
    const run = async (job: ReconcileJob) => {
      if (running.has(job.number)) overlaps.push(job.number);
      running.add(job.number);
      await new Promise((r) => setTimeout(r, 5));
      seen[job.number]!.push(job.delivery);
      running.delete(job.number);
    };
    const poller = async () => {
      for (let idle = 0; idle < 3;) {
        const got = await pollOnce(sqs, queue.url, (records) =>
          processBatch(records, { run, maxReceiveCount: 5, giveUp: () => Promise.resolve(), log: silent }),
        );
        idle = got === 0 ? idle + 1 : 0;
      }
    };
    await Promise.all([poller(), poller()]);
    expect(seen).toEqual(sent);
    expect(overlaps).toEqual([]);
  });

  it("retries only the failed message; a poison job ends in the dead-letter queue and tells the PR once; others are unaffected", async () => {
    const q = new SqsJobQueue(prenvSqs(), queue.url);
    await q.enqueue({
      installationId: 1,
      owner: "acme",
      repo: "web",
      number: 1,
      reason: "test",
      delivery: "good-1",
    });
    await q.enqueue({
      installationId: 1,
      owner: "acme",
      repo: "web",
      number: 9,
      reason: "test",
      delivery: "poison",
    });
    await q.enqueue({
      installationId: 1,
      owner: "acme",
      repo: "web",
      number: 2,
      reason: "test",
      delivery: "good-2",
    });
    const runs: string[] = [];
    const gaveUp: string[] = [];
    const handleBatch = (records: Parameters<typeof processBatch>[0]) =>
      processBatch(records, {
        run: (job) => {
          runs.push(job.delivery);
          return job.number === 9 ? Promise.reject(new Error("cluster says no")) : Promise.resolve();
        },
        maxReceiveCount: 2,
        giveUp: (job) => Promise.resolve(void gaveUp.push(job.delivery)),
        log: silent,
      });
    for (let idle = 0; idle < 3;) idle = (await pollOnce(sqs, queue.url, handleBatch)) === 0 ? idle + 1 : 0;

    expect(runs.filter((d) => d === "good-1")).toHaveLength(1);
    expect(runs.filter((d) => d === "good-2")).toHaveLength(1);
    expect(runs.filter((d) => d === "poison")).toHaveLength(2);
    expect(gaveUp).toEqual(["poison"]);
    const dead = await receive(sqs, queue.dlqUrl);
    expect(dead.map((m) => (JSON.parse(m.Body!) as ReconcileJob).delivery)).toEqual(["poison"]);
  });

  it("sends a malformed message to the dead-letter queue after its retries", async () => {
    const { SendMessageCommand } = await import("@aws-sdk/client-sqs");
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: "{}",
        MessageGroupId: "g",
        MessageDeduplicationId: "bad",
      }),
    );
    for (let idle = 0; idle < 3;) {
      const got = await pollOnce(sqs, queue.url, (r) =>
        processBatch(r, {
          run: () => Promise.resolve(),
          maxReceiveCount: 2,
          giveUp: () => Promise.resolve(),
          log: silent,
        }),
      );
      idle = got === 0 ? idle + 1 : 0;
    }
    expect(await receive(sqs, queue.dlqUrl)).toHaveLength(1);
  });
});

describe("the pull request payload helper", () => {
  it("builds payloads the handler accepts", async () => {
    const p = pullRequestPayload("opened", { owner: "o", repo: "r", number: 3, sha: "a".repeat(40) });
    expect((await handle(request("pull_request", p, "helper"))).statusCode).toBe(202);
    expect((await receive(sqs, queue.url))[0]!.Attributes?.MessageGroupId).toBe("o/r#3");
  });
});
