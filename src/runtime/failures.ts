// What to do with a job that failed, on every path: the local queue of `npm start` (attempt by
// attempt) and the worker Lambda's SQS batch (receive by receive). Both follow ERROR_POLICY
// (src/errors.ts): retry a transient failure while attempts are left, then tell the PR prenv gave
// up; tell the PR at once about an error that retrying cannot fix, and drop the job.
import type { Logger as Pino } from "pino";
import type { Probot } from "probot";
import { appIdentity } from "../adapters/github/app-identity.js";
import { GitHubPullRequest } from "../adapters/github/pull-request.js";
import type { ReconcileDeps } from "../environment/context.js";
import { failureAction, isPrenvError } from "../errors.js";
import type { ReconcileJob } from "../jobs/job.js";
import { failureReport, type Stop } from "../report/failure.js";
import { publish } from "../report/publish.js";
import type { Settings } from "./settings.js";

/** Attempts the local queue gives a job (on AWS: the queue's maxReceiveCount). */
export const LOCAL_ATTEMPTS = 5;

export type Verdict = { retry: true } | { retry: false; stop: Stop };

/**
 * After attempt `attempt` (1-based) of `maxAttempts` failed with `err`. `deadLetter`: where retries
 * end (SQS's dead-letter queue) rather than in a log line.
 */
export function verdict(
  err: unknown,
  attempt: number,
  limits: { maxAttempts: number; deadLetter: boolean },
): Verdict {
  if (failureAction(err) === "report") return { retry: false, stop: { kind: "reported" } };
  if (attempt < limits.maxAttempts) return { retry: true };
  return { retry: false, stop: { kind: "gave-up", attempts: attempt, deadLetter: limits.deadLetter } };
}

/** Tells a job's PR that prenv stopped working on it. */
export type Tell = (job: ReconcileJob, err: unknown, stop: Stop) => Promise<void>;

/** The teller on the real adapters: prenv's comment, check run and deployment say so. */
export function tellPullRequest(deps: {
  probot: Pick<Probot, "auth">;
  settings: Settings;
  templates: ReconcileDeps["templates"];
}): Tell {
  return async (job, err, stop) => {
    const octokit = await deps.probot.auth(job.installationId);
    const ref = { owner: job.owner, repo: job.repo, number: job.number, installationId: job.installationId };
    await publish(failureReport(err, stop), {
      github: new GitHubPullRequest(octokit, ref, await appIdentity(deps.probot)),
      comment: deps.templates.comment,
      checkName: deps.settings.environment.checkName,
      environment: `pr-${job.number}`,
    });
  };
}

/** Logs the failure as what happens next: a retry (warn) or the end of the job (error). */
export function logFailure(
  log: Pick<Pino, "warn" | "error">,
  failure: { job: ReconcileJob; err: unknown; attempt: number; verdict: Verdict },
): void {
  const { job, err, attempt } = failure;
  const meta = {
    repo: `${job.owner}/${job.repo}`,
    pr: job.number,
    delivery: job.delivery,
    code: isPrenvError(err) ? err.code : "UNEXPECTED",
    attempt,
    err: errorMeta(err),
  };
  if (failure.verdict.retry) log.warn(meta, "job failed; will retry");
  else log.error({ ...meta, stop: failure.verdict.stop.kind }, "job failed; prenv stops working on it");
}

/**
 * The local queue's error handler: backoff while the policy says retry, else tell the PR (a failure
 * to tell is logged, never thrown) and drop the job.
 */
export function localFailurePolicy(log: Pick<Pino, "warn" | "error">, tell: Tell | null) {
  return async (job: ReconcileJob, err: unknown, attempt: number): Promise<{ retryInMs: number | null }> => {
    const v = verdict(err, attempt, { maxAttempts: LOCAL_ATTEMPTS, deadLetter: false });
    logFailure(log, { job, err, attempt, verdict: v });
    if (v.retry) return { retryInMs: Math.min(60_000, 1000 * 2 ** attempt) };
    if (tell) {
      await tell(job, err, v.stop).catch((e: unknown) =>
        log.error({ pr: job.number, err: errorMeta(e) }, "could not tell the pull request"),
      );
    }
    return { retryInMs: null };
  };
}

/** Message and cause name only: vendor errors can carry request headers (tokens). */
export function errorMeta(err: unknown): { message: string; cause?: string } {
  if (!(err instanceof Error)) return { message: String(err) };
  const cause = err.cause instanceof Error ? err.cause.name : undefined;
  return cause ? { message: err.message, cause } : { message: err.message };
}
