import { describe, expect, it } from "vitest";
import type { ReconcileJob } from "../../../src/jobs/job.js";
import { LocalQueue } from "../../../src/runtime/local-queue.js";

function job(number: number, delivery: string, repo = "web"): ReconcileJob {
  return { installationId: 1, owner: "acme", repo, number, reason: "test", delivery };
}

/** A run() whose calls stay open until released, recording the order of starts and ends. */
function gatedRunner() {
  const events: string[] = [];
  const gates = new Map<string, () => void>();
  return {
    events,
    release(delivery: string) {
      gates.get(delivery)!();
    },
    run(j: ReconcileJob) {
      events.push(`start ${j.number}:${j.delivery}`);
      return new Promise<void>((resolve) =>
        gates.set(j.delivery, () => {
          events.push(`end ${j.number}:${j.delivery}`);
          resolve();
        }),
      );
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("LocalQueue", () => {
  it("runs jobs of one pull request one at a time, and different pull requests in parallel", async () => {
    const r = gatedRunner();
    const q = new LocalQueue({ run: (j) => r.run(j), onError: () => ({ retryInMs: null }) });
    await q.enqueue(job(1, "a"));
    await q.enqueue(job(2, "b"));
    await q.enqueue(job(1, "c"));
    await tick();
    expect(r.events).toEqual(["start 1:a", "start 2:b"]);
    r.release("a");
    await tick();
    expect(r.events).toEqual(["start 1:a", "start 2:b", "end 1:a", "start 1:c"]);
    r.release("b");
    r.release("c");
    await q.onIdle();
  });

  it("coalesces jobs that wait for the same pull request (reconcile is level-triggered)", async () => {
    const r = gatedRunner();
    const q = new LocalQueue({ run: (j) => r.run(j), onError: () => ({ retryInMs: null }) });
    await q.enqueue(job(1, "a"));
    await tick();
    await q.enqueue(job(1, "b"));
    await q.enqueue(job(1, "c"));
    r.release("a");
    await tick();
    r.release("c");
    await q.onIdle();
    expect(r.events).toEqual(["start 1:a", "end 1:a", "start 1:c", "end 1:c"]);
  });

  it("drops a repeated delivery id", async () => {
    const seen: string[] = [];
    const q = new LocalQueue({
      run: (j) => Promise.resolve(void seen.push(j.delivery)),
      onError: () => ({ retryInMs: null }),
    });
    await q.enqueue(job(1, "same"));
    await q.onIdle();
    await q.enqueue(job(1, "same"));
    await q.onIdle();
    expect(seen).toEqual(["same"]);
  });

  it("retries a failing job as the error policy says, then gives up", async () => {
    let calls = 0;
    const waits: number[] = [];
    const q = new LocalQueue({
      run: () => {
        calls++;
        return Promise.reject(new Error("boom"));
      },
      onError: (_j, _e, attempt) => ({ retryInMs: attempt < 3 ? attempt * 10 : null }),
      sleep: (ms) => Promise.resolve(void waits.push(ms)),
    });
    await q.enqueue(job(1, "x"));
    await q.onIdle();
    expect(calls).toBe(3);
    expect(waits).toEqual([10, 20]);
  });

  it("enqueues a job for later when it is due, and is idle only once it has run", async () => {
    const seen: string[] = [];
    const q = new LocalQueue({
      run: (j) => Promise.resolve(void seen.push(j.delivery)),
      onError: () => ({ retryInMs: null }),
    });
    const started = Date.now();
    await q.enqueueLater(job(1, "later"), 50);
    expect(seen).toEqual([]);
    await q.onIdle();
    expect(seen).toEqual(["later"]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it("keeps a follow-up beside a waiting reconcile of the same PR, and runs it after, in order", async () => {
    const r = gatedRunner();
    const q = new LocalQueue({ run: (j) => r.run(j), onError: () => ({ retryInMs: null }) });
    const check = {
      ...job(1, "check"),
      check: { sha: "a".repeat(40), configHash: "abc", since: 0, attempt: 1 },
    };
    await q.enqueue(job(1, "a"));
    await tick();
    await q.enqueue(check);
    await q.enqueue(job(1, "b"));
    await q.enqueue(job(2, "c"));
    r.release("a");
    await tick();
    r.release("c");
    r.release("b");
    await tick();
    r.release("check");
    await q.onIdle();
    expect(r.events).toEqual([
      "start 1:a",
      "start 2:c",
      "end 1:a",
      "start 1:b",
      "end 2:c",
      "end 1:b",
      "start 1:check",
      "end 1:check",
    ]);
  });
});
