// The error policy is one table, and both paths follow it: the local queue of `npm start` (attempt
// by attempt) and the worker Lambda's SQS batch (receive by receive). A code the table says to
// report is told to the PR at once and never retried on either path; a transient one is retried
// until the attempts run out, and then the PR is told that prenv gave up.
import { describe, expect, it } from "vitest";
import { ERROR_POLICY, PrenvError, type ErrorCode } from "../../../src/errors.js";
import type { ReconcileJob } from "../../../src/jobs/job.js";
import type { Stop } from "../../../src/report/failure.js";
import { failureReport } from "../../../src/report/failure.js";
import { LOCAL_ATTEMPTS, localFailurePolicy } from "../../../src/runtime/failures.js";
import { LocalQueue } from "../../../src/runtime/local-queue.js";
import { processBatch, type BatchRecord } from "../../../src/runtime/sqs-batch.js";

const job: ReconcileJob = {
  installationId: 1,
  owner: "acme",
  repo: "web",
  number: 7,
  reason: "test",
  delivery: "d-1",
};
const silent = { warn: () => undefined, error: () => undefined };
const codes = Object.keys(ERROR_POLICY) as ErrorCode[];

/** Runs `job` on the local queue, failing every attempt with `err`; what happened. */
async function onLocalQueue(err: Error) {
  let attempts = 0;
  const told: Stop[] = [];
  const queue = new LocalQueue({
    run: (_job, attempt) => {
      attempts++;
      // The job is told which attempt it is: a retry looks for what the failed one left on GitHub.
      expect(attempt).toBe(attempts);
      return Promise.reject(err);
    },
    onError: localFailurePolicy(silent, (_job, _err, stop) => Promise.resolve(void told.push(stop))),
    sleep: () => Promise.resolve(),
  });
  await queue.enqueue(job);
  await queue.onIdle();
  return { attempts, told };
}

/** Delivers `job` to the SQS batch until it is done or dead-lettered, failing each run with `err`. */
async function onSqs(err: Error, maxReceiveCount = 3) {
  let receives = 0;
  const told: Stop[] = [];
  let deadLettered = false;
  for (;;) {
    receives++;
    const record: BatchRecord = {
      messageId: `m-${receives}`,
      body: JSON.stringify(job),
      attributes: { ApproximateReceiveCount: String(receives), MessageGroupId: "acme/web#7" },
    };
    const { batchItemFailures } = await processBatch([record], {
      run: (_job, attempt) => {
        expect(attempt).toBe(receives);
        return Promise.reject(err);
      },
      maxReceiveCount,
      giveUp: (_job, _err, stop) => Promise.resolve(void told.push(stop)),
      log: silent,
    });
    const failed = batchItemFailures.length > 0;
    if (!failed) break; // deleted from the queue
    if (receives >= maxReceiveCount) {
      deadLettered = true; // SQS's redrive policy moves it
      break;
    }
  }
  return { receives, told, deadLettered };
}

describe("the error policy, on every path", () => {
  it.each(codes.filter((c) => ERROR_POLICY[c] === "report"))(
    "%s is told to the PR once and never retried, locally and on SQS",
    async (code) => {
      const err = new PrenvError(code, `something ${code}`);
      expect(await onLocalQueue(err)).toEqual({ attempts: 1, told: [{ kind: "reported" }] });
      expect(await onSqs(err)).toEqual({ receives: 1, told: [{ kind: "reported" }], deadLettered: false });
    },
  );

  it.each(codes.filter((c) => ERROR_POLICY[c] === "retry"))(
    "%s is retried until the attempts run out, then the PR is told prenv gave up",
    async (code) => {
      const err = new PrenvError(code, `something ${code}`);
      expect(await onLocalQueue(err)).toEqual({
        attempts: LOCAL_ATTEMPTS,
        told: [{ kind: "gave-up", attempts: LOCAL_ATTEMPTS, deadLetter: false }],
      });
      expect(await onSqs(err, 3)).toEqual({
        receives: 3,
        told: [{ kind: "gave-up", attempts: 3, deadLetter: true }],
        deadLettered: true,
      });
    },
  );

  it("CLUSTER_FORBIDDEN (prenv's identity lacks a permission) is reported, not retried", () => {
    expect(ERROR_POLICY.CLUSTER_FORBIDDEN).toBe("report");
  });

  it("an error that is not prenv's (a bug, an untranslated vendor error) is retried as transient", async () => {
    const err = new Error("boom");
    expect((await onLocalQueue(err)).attempts).toBe(LOCAL_ATTEMPTS);
    expect(await onSqs(err, 2)).toMatchObject({ receives: 2, deadLettered: true });
  });

  it("a reported error keeps the PR's later jobs in the same batch running", async () => {
    const runs: string[] = [];
    const records = ["a", "b"].map((d, i) => ({
      messageId: `m-${i}`,
      body: JSON.stringify({ ...job, delivery: d }),
      attributes: { ApproximateReceiveCount: "1", MessageGroupId: "acme/web#7" },
    }));
    const result = await processBatch(records, {
      run: (j) => {
        runs.push(j.delivery);
        return j.delivery === "a"
          ? Promise.reject(new PrenvError("CLUSTER_FORBIDDEN", "no"))
          : Promise.resolve();
      },
      maxReceiveCount: 5,
      giveUp: () => Promise.resolve(),
      log: silent,
    });
    expect(runs).toEqual(["a", "b"]);
    expect(result.batchItemFailures).toEqual([]);
  });
});

describe("what the PR is told", () => {
  it("a reported error: its own message, its code, and that prenv does not retry it", () => {
    const report = failureReport(new PrenvError("CLUSTER_FORBIDDEN", "prenv lacks a permission."), {
      kind: "reported",
    });
    expect(report.kind).toBe("error");
    expect(report.detail).toContain("prenv lacks a permission.");
    expect(report.detail).toContain("(CLUSTER_FORBIDDEN)");
    expect(report.detail).toContain("does not retry");
  });

  it("giving up: the attempts and the code; on AWS, the dead-letter queue", () => {
    const sqs = failureReport(new Error("x"), { kind: "gave-up", attempts: 5, deadLetter: true });
    expect(sqs.detail).toContain("after 5 attempts (UNEXPECTED)");
    expect(sqs.detail).toContain("dead-letter queue");
    const local = failureReport(new PrenvError("GITHUB_ERROR", "x"), {
      kind: "gave-up",
      attempts: 5,
      deadLetter: false,
    });
    expect(local.detail).toContain("after 5 attempts (GITHUB_ERROR)");
    expect(local.detail).not.toContain("dead-letter");
  });
});
