// The real Probot app with real, signed webhook payloads: which events ask for a reconcile, and
// that nothing is enqueued for a delivery that fails signature verification.
import type { Probot } from "probot";
import { beforeEach, describe, expect, it } from "vitest";
import { prenvApp } from "../../src/app.js";
import type { JobQueue, ReconcileJob } from "../../src/jobs/job.js";
import { APP_ID, sign } from "../support/app-key.js";
import { examplePayload, INSTALLATION_ID } from "../support/payloads.js";
import { testProbot } from "../support/probot.js";

class RecordingQueue implements JobQueue {
  jobs: ReconcileJob[] = [];
  enqueue(job: ReconcileJob): Promise<void> {
    this.jobs.push(job);
    return Promise.resolve();
  }
}

let queue: RecordingQueue;
let probot: Probot;

beforeEach(async () => {
  queue = new RecordingQueue();
  // No GitHub call may happen while handling a webhook: point Octokit nowhere.
  probot = testProbot({ baseUrl: "http://127.0.0.1:9" });
  await probot.load(prenvApp({ queue, appId: APP_ID }));
});

async function deliver(
  name: string,
  payload: Record<string, unknown>,
  id = `delivery-${Math.random()}`,
  signature?: string,
) {
  const body = JSON.stringify(payload);
  await probot.webhooks.verifyAndReceive({
    id,
    name: name,
    payload: body,
    signature: signature ?? sign(body),
  });
}

describe("webhook to job", () => {
  it.each([
    "opened",
    "reopened",
    "synchronize",
    "ready_for_review",
    "labeled",
    "closed",
    "converted_to_draft",
  ])("pull_request.%s asks to reconcile that pull request", async (action) => {
    const payload = examplePayload("pull_request", action);
    await deliver("pull_request", payload, "d-1");
    const pr = payload.pull_request as { number: number };
    expect(queue.jobs).toEqual([
      {
        installationId: INSTALLATION_ID,
        owner: "Codertocat",
        repo: "Hello-World",
        repoId: (payload.repository as { id: number }).id,
        number: pr.number,
        reason: `pull_request.${action}`,
        delivery: "d-1",
      },
    ]);
  });

  it.each(["assigned", "locked"])("pull_request.%s is ignored", async (action) => {
    await deliver("pull_request", examplePayload("pull_request", action));
    expect(queue.jobs).toEqual([]);
  });

  it("check_run.completed of another app asks to reconcile each of its pull requests", async () => {
    const payload = examplePayload("check_run", "completed");
    await deliver("check_run", payload, "d-2");
    const prs = (payload.check_run as { pull_requests: { number: number }[] }).pull_requests.map(
      (p) => p.number,
    );
    expect(queue.jobs.map((j) => j.number)).toEqual(prs);
    expect(queue.jobs[0]?.reason).toBe("check_run.completed");
  });

  it("check_run.completed of prenv's own check run is ignored (no reconcile loop)", async () => {
    const payload = examplePayload("check_run", "completed");
    (payload.check_run as { app: { id: number } }).app.id = APP_ID;
    await deliver("check_run", payload);
    expect(queue.jobs).toEqual([]);
  });

  it("check_suite.completed asks to reconcile its pull requests", async () => {
    const payload = examplePayload("check_suite", "completed");
    await deliver("check_suite", payload);
    const prs = (payload.check_suite as { pull_requests: { number: number }[] }).pull_requests;
    expect(queue.jobs).toHaveLength(prs.length);
  });

  it("a delivery with a bad signature is rejected and enqueues nothing", async () => {
    const payload = examplePayload("pull_request", "opened");
    await expect(deliver("pull_request", payload, "d-3", sign("something else"))).rejects.toThrow(
      /signature does not match/i,
    );
    expect(queue.jobs).toEqual([]);
  });

  it("a payload without an installation enqueues nothing", async () => {
    const payload = examplePayload("pull_request", "opened");
    delete payload.installation;
    await deliver("pull_request", payload);
    expect(queue.jobs).toEqual([]);
  });
});
