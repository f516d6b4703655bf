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
import { COMMENT_MARKER, readMeta } from "../report/comment.js";
import { failureReport, type Stop } from "../report/failure.js";
import { publish } from "../report/publish.js";
import type { KubeConfig } from "@kubernetes/client-node";
import { locateEnvironment } from "../environment/locate.js";
import { unsettledWrite } from "../environment/record.js";
import { hostCluster } from "./root/cluster.js";
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
    const github = new GitHubPullRequest(octokit, ref, await appIdentity(deps.probot));
    // The head's check run and Deployment end too; the comment keeps its hidden state (approvals,
    // `/env destroy`, command times), or the next reconcile would forget them.
    const pr = await github.getPull().catch(() => null);
    const meta = readMeta((await github.findComment(COMMENT_MARKER))?.body);
    const head = pr?.state === "open" ? pr.headSha : null;
    await publish(
      { ...failureReport(err, stop, head), meta },
      {
        github,
        comment: deps.templates.comment,
        checkName: deps.settings.environment.checkName,
        environment: `pr-${job.number}`,
        // The failed attempts may have made a Deployment or check run they could not record.
        unrecorded: { look: true },
      },
    );
  };
}

/** Marks a job's environment unsettled (record.ts); the janitor then reconciles it. */
export type Unsettle = (job: ReconcileJob) => Promise<void>;

/** The marker on the real cluster: only an environment that records the job's repository and PR. */
export function unsettleEnvironment(deps: {
  kubeConfig: () => Promise<KubeConfig>;
  settings: Settings;
  log: Pick<Pino, "warn">;
  now?: () => Date;
}): Unsettle {
  return async (job) => {
    if (!job.repoId) return;
    const cluster = hostCluster(await deps.kubeConfig(), deps.settings);
    const where = { owner: job.owner, repo: job.repo, number: job.number, repoId: job.repoId };
    const log = { warn: (meta: object, msg: string) => deps.log.warn(meta, msg) };
    const located = await locateEnvironment(cluster, where, deps.settings.environment.namespacePrefix, log);
    if (located.env) await cluster.annotate(located.namespace, unsettledWrite(deps.now?.() ?? new Date()));
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
export function localFailurePolicy(
  log: Pick<Pino, "warn" | "error">,
  tell: Tell | null,
  unsettle: Unsettle | null = null,
) {
  return async (job: ReconcileJob, err: unknown, attempt: number): Promise<{ retryInMs: number | null }> => {
    const v = verdict(err, attempt, { maxAttempts: LOCAL_ATTEMPTS, deadLetter: false });
    logFailure(log, { job, err, attempt, verdict: v });
    if (v.retry) return { retryInMs: Math.min(60_000, 1000 * 2 ** attempt) };
    await unsettle?.(job).catch((e: unknown) =>
      log.error({ pr: job.number, err: errorMeta(e) }, "could not mark the environment for the janitor"),
    );
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
