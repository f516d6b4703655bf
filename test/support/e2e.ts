// End-to-end rig: the real Probot app receiving signed webhooks, prenv's local queue and worker,
// Octokit talking to the GitHub stand-in over HTTP, and client-node talking to a real API server.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Probot, ProbotOctokit } from "probot";
import { pino } from "pino";
import { prenvApp } from "../../src/app.js";
import type { LaterQueue, ReconcileJob } from "../../src/jobs/job.js";
import { LocalQueue } from "../../src/runtime/local-queue.js";
import type { Settings } from "../../src/runtime/settings.js";
import { loadTemplates } from "../../src/runtime/templates.js";
import { localFailurePolicy } from "../../src/runtime/failures.js";
import { processJob } from "../../src/runtime/worker.js";
import { APP_ID, sign } from "./app-key.js";
import { startGitHubStandIn, type GitHubStandIn, type StandInOptions } from "./github-standin.js";
import { testSettings } from "./settings.js";
import { testProbot } from "./probot.js";

export interface E2E {
  standIn: GitHubStandIn;
  probot: Probot;
  queue: LocalQueue;
  /** Log lines the worker wrote (JSON), to check that no secret is ever logged. */
  logs: string[];
  deliver(event: string, payload: Record<string, unknown>, delivery?: string): Promise<void>;
  /** The worker's clock (default: real time). */
  setNow(now: Date | null): void;
  /** Faults at GitHub's HTTP boundary from now on (see the stand-in's `faults`); null: none. */
  setGitHubFaults(faults: StandInOptions["faults"] | null): void;
  /** Waits until every queued job has run. */
  settle(): Promise<void>;
  /**
   * Runs the jobs that failed since the last call once more, each as its next attempt, as SQS
   * redelivers a message whose receive failed (or whose worker was killed).
   */
  retryFailed(): Promise<void>;
  close(): Promise<void>;
}

let deliveries = 0;

export interface E2EOptions {
  /**
   * Follow-up jobs run inside the job that scheduled it, after sleeping out their delay, instead of
   * being queued: the worker holds on while the rollout goes on, as deploys did before follow-ups
   * (the rollout bench's "before").
   */
  holdFollowUps?: boolean;
  /** The class the App uses (default: the tests' one, with retries and throttling off). */
  Octokit?: typeof ProbotOctokit;
}

export async function startE2E(
  kubeConfig: KubeConfig,
  settings: Settings = testSettings(),
  opts: E2EOptions = {},
): Promise<E2E> {
  const { Octokit } = opts;
  let faults: StandInOptions["faults"] | null = null;
  const standIn = await startGitHubStandIn({ faults: (call) => faults?.(call) });
  const logs: string[] = [];
  const log = pino({ level: "debug" }, { write: (line: string) => void logs.push(line) });
  const probot = testProbot({
    baseUrl: standIn.url,
    log: log.child({ name: "probot" }),
    ...(Octokit ? { Octokit } : {}),
  });
  const templates = loadTemplates();
  const failures: unknown[] = [];
  const failed: { job: ReconcileJob; attempt: number }[] = [];
  let fixedNow: Date | null = null;
  const held: LaterQueue = {
    enqueueLater: async (job, delayMs) => {
      await new Promise((r) => setTimeout(r, delayMs));
      await run(job);
    },
  };
  const run = async (job: ReconcileJob, attempt = 1): Promise<void> => {
    await processJob(job, {
      attempt,
      settings,
      kubeConfig,
      templates,
      log,
      probot,
      later: opts.holdFollowUps ? held : queue,
      now: () => fixedNow ?? new Date(),
    });
  };
  const queue = new LocalQueue({
    run,
    onError: (job, err, attempt) => {
      failures.push(err);
      failed.push({ job, attempt });
      void localFailurePolicy(log, null)(job, err, attempt); // logs it as production would
      // No retries in tests: settle() rethrows the failure so the test sees it at once.
      return { retryInMs: null };
    },
  });
  await probot.load(prenvApp({ queue, appId: APP_ID }));
  return {
    standIn,
    probot,
    queue,
    logs,
    async deliver(event, payload, delivery = `e2e-${++deliveries}`) {
      const body = JSON.stringify(payload);
      await probot.webhooks.verifyAndReceive({
        id: delivery,
        name: event,
        payload: body,
        signature: sign(body),
      });
    },
    setGitHubFaults(f) {
      faults = f;
    },
    setNow(now) {
      fixedNow = now;
    },
    async settle() {
      await queue.onIdle();
      if (failures.length > 0) {
        const err = failures.shift();
        failures.length = 0;
        throw err instanceof Error ? err : new Error(String(err));
      }
    },
    async retryFailed() {
      for (const { job, attempt } of failed.splice(0)) await run(job, attempt + 1);
    },
    async close() {
      await standIn.close();
    },
  };
}
