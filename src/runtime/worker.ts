// Runs one job: builds the adapters for its installation and PR, then reconcile().
// Shared by `npm start` (local queue) and the AWS worker.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger as Pino } from "pino";
import type { Probot } from "probot";
import { appIdentity } from "../adapters/github/app-identity.js";
import { GitHubPullRequest } from "../adapters/github/pull-request.js";
import { KubernetesCluster } from "../adapters/kubernetes/cluster.js";
import type { Outcome, ReconcileDeps } from "../environment/context.js";
import { reconcile } from "../environment/reconcile.js";
import { isPrenvError, policyFor } from "../errors.js";
import { handleCommentCommands, type CommandOutcome } from "../commands/handle.js";
import { withHostSettings } from "./host-settings.js";
import type { ReconcileJob } from "../jobs/job.js";
import type { Settings } from "./settings.js";

export interface WorkerDeps {
  settings: Settings;
  kubeConfig: KubeConfig;
  /** The Probot instance that authenticates as the App and its installations. */
  probot: Pick<Probot, "auth">;
  templates: ReconcileDeps["templates"];
  log: Pino;
  now?: () => Date;
}

export async function processJob(job: ReconcileJob, deps: WorkerDeps): Promise<Outcome | CommandOutcome> {
  const log = deps.log.child({
    repo: `${job.owner}/${job.repo}`,
    pr: job.number,
    delivery: job.delivery,
    reason: job.reason,
  });
  const octokit = await deps.probot.auth(job.installationId);
  const app = await appIdentity(deps.probot);
  const settings = await withHostSettings(deps.settings, deps.kubeConfig);
  const ref = {
    owner: job.owner,
    repo: job.repo,
    number: job.number,
    installationId: job.installationId,
    ...(job.repoId ? { repoId: job.repoId } : {}),
  };
  const started = Date.now();
  const reconcileDeps: ReconcileDeps = {
    github: new GitHubPullRequest(octokit, ref, app),
    cluster: hostCluster(deps.kubeConfig, settings),
    clock: { now: deps.now ?? (() => new Date()) },
    log: { info: (m, s) => log.info(m, s), warn: (m, s) => log.warn(m, s), error: (m, s) => log.error(m, s) },
    settings: settings.environment,
    templates: deps.templates,
  };
  const outcome = job.commentId
    ? await handleCommentCommands(ref, job.commentId, reconcileDeps)
    : await reconcile(ref, reconcileDeps);
  log.info({ outcome, ms: Date.now() - started }, job.commentId ? "commands handled" : "reconciled");
  return outcome;
}

/** The host cluster adapter with the operator's settings for virtual clusters and kubeconfigs. */
export function hostCluster(kubeConfig: KubeConfig, settings: Settings): KubernetesCluster {
  return new KubernetesCluster(kubeConfig, {
    virtualAddress: settings.environment.vcluster.apiAddress,
    hostServer: settings.environment.access.hostServer,
  });
}

/** Retry transient failures with backoff (at most 5 attempts); log the rest once. */
export function retryPolicy(log: Pino) {
  return (job: ReconcileJob, err: unknown, attempt: number): { retryInMs: number | null } => {
    const code = isPrenvError(err) ? err.code : "UNEXPECTED";
    const retry = isPrenvError(err) ? policyFor(err.code).retry : true;
    const meta = {
      repo: `${job.owner}/${job.repo}`,
      pr: job.number,
      delivery: job.delivery,
      code,
      attempt,
      err: errorMeta(err),
    };
    if (retry && attempt < 5) {
      log.warn(meta, "reconcile failed; will retry");
      return { retryInMs: Math.min(60_000, 1000 * 2 ** attempt) };
    }
    log.error(meta, "reconcile failed");
    return { retryInMs: null };
  };
}

/** Message and cause name only: vendor errors can carry request headers (tokens). */
function errorMeta(err: unknown): { message: string; cause?: string } {
  if (!(err instanceof Error)) return { message: String(err) };
  const cause = err.cause instanceof Error ? err.cause.name : undefined;
  return cause ? { message: err.message, cause } : { message: err.message };
}
