// Webhook handler latency: 1,000 signed real deliveries through the same code the Lambda runs
// (signature check over the raw body, @octokit/webhooks dispatch, prenv's handler, enqueue), in-process.
// The queue is an in-memory JobQueue so the figure is the handler's own time; add the SQS
// SendMessage round trip of your region on top.
import { performance } from "node:perf_hooks";
import { Webhooks } from "@octokit/webhooks";
import { prenvApp } from "../src/app.js";
import type { JobQueue, ReconcileJob } from "../src/jobs/job.js";
import { createWebhookHandler } from "../src/runtime/webhook-handler.js";
import { APP_ID, WEBHOOK_SECRET, sign } from "../test/support/app-key.js";
import { examplePayload } from "../test/support/payloads.js";

const N = Number(process.env.BENCH_N ?? 1000);
const jobs: ReconcileJob[] = [];
const queue: JobQueue = { enqueue: (j) => Promise.resolve(void jobs.push(j)) };
const events = new Webhooks({ secret: WEBHOOK_SECRET });
prenvApp({ queue, appId: APP_ID })(events);
const handle = createWebhookHandler({ events, secret: WEBHOOK_SECRET });

const payloads = ["opened", "synchronize", "labeled", "closed"].map((a) =>
  JSON.stringify(examplePayload("pull_request", a)),
);
const requests = Array.from({ length: N }, (_, i) => {
  const body = payloads[i % payloads.length]!;
  return {
    headers: {
      "x-github-event": "pull_request",
      "x-github-delivery": `bench-${i}`,
      "x-hub-signature-256": sign(body),
    },
    body,
  };
});

for (const r of requests.slice(0, 50)) await handle(r); // warm-up
jobs.length = 0;
const times: number[] = [];
const rss0 = process.memoryUsage().rss;
for (const r of requests) {
  const t = performance.now();
  const res = await handle(r);
  times.push(performance.now() - t);
  if (res.statusCode !== 202) throw new Error(`unexpected ${res.statusCode}`);
}
times.sort((a, b) => a - b);
const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(3);
console.log(
  JSON.stringify({
    bench: "webhook handler (in-process)",
    deliveries: N,
    enqueued: jobs.length,
    p50_ms: q(0.5),
    p99_ms: q(0.99),
    max_ms: times[times.length - 1]!.toFixed(3),
    rss_growth_mb: ((process.memoryUsage().rss - rss0) / 1048576).toFixed(1),
  }),
);
