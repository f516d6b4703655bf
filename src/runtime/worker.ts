// Runs one job: builds the adapters for its installation and PR, then reconcile().
// Shared by `npm start` (local queue) and the AWS worker.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger as Pino } from "pino";
import type { Probot } from "probot";
import { appIdentity } from "../adapters/github/app-identity.js";
import { GitHubPullRequest } from "../adapters/github/pull-request.js";
import { currentRepositoryId } from "../adapters/github/repository.js";
import type { Outcome, ReconcileDeps } from "../environment/context.js";
import { purge } from "../environment/purge.js";
import { reconcile } from "../environment/reconcile.js";
import { checkRollout } from "../environment/rollout.js";
import { handleCommentCommands, type CommandOutcome } from "../commands/handle.js";
import { withHostSettings } from "./host-settings.js";
import { renderDeps } from "./render.js";
import { hostCluster } from "./root/cluster.js";
import { domainLogger } from "./root/logger.js";
import { rolloutCheckJob, type LaterQueue, type ReconcileJob } from "../jobs/job.js";
import type { Settings } from "./settings.js";

export interface WorkerDeps {
  settings: Settings;
  kubeConfig: KubeConfig;
  /** The Probot instance that authenticates as the App and its installations. */
  probot: Pick<Probot, "auth">;
  templates: ReconcileDeps["templates"];
  log: Pino;
  /** Where follow-up jobs go (the rollout's checks): the local queue, or SQS's delay queue. */
  later: LaterQueue;
  now?: () => Date;
  /** Which attempt at the job this is, 1-based (SQS's receive count; the local queue's attempt). */
  attempt?: number;
}

export async function processJob(job: ReconcileJob, deps: WorkerDeps): Promise<Outcome | CommandOutcome> {
  const log = deps.log.child({
    repo: `${job.owner}/${job.repo}`,
    pr: job.number,
    delivery: job.delivery,
    reason: job.reason,
  });
  if (job.purge && job.repoId) return purgeJob({ ...job, repoId: job.repoId }, deps, log);
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
  const github = new GitHubPullRequest(octokit, ref, app);
  const reconcileDeps: ReconcileDeps = {
    github,
    cluster: hostCluster(deps.kubeConfig, settings),
    clock: { now: deps.now ?? (() => new Date()) },
    log: domainLogger(log),
    settings: settings.environment,
    templates: deps.templates,
    render: renderDeps(deps.settings.render, deps.kubeConfig, github.repository),
    followUp: ({ check, repoId }, delayMs) =>
      deps.later.enqueueLater(rolloutCheckJob(job, check, repoId), delayMs),
    ...((deps.attempt ?? 1) > 1 ? { retry: true } : {}),
  };
  const outcome = job.check
    ? await checkRollout(ref, reconcileDeps, job.check)
    : job.commentId
      ? await handleCommentCommands(ref, job.commentId, reconcileDeps)
      : await reconcile(ref, reconcileDeps);
  const what = job.check ? "rollout checked" : job.commentId ? "commands handled" : "reconciled";
  log.info({ outcome, ms: Date.now() - started }, what);
  return outcome;
}

/** The janitor's purge of a gone (or replaced) repository's environment: needs no installation. */
async function purgeJob(
  job: ReconcileJob & { repoId: number },
  deps: WorkerDeps,
  log: Pino,
): Promise<Outcome> {
  const outcome = await purge(job, {
    cluster: hostCluster(deps.kubeConfig, deps.settings),
    log: domainLogger(log),
    prefix: deps.settings.environment.namespacePrefix,
    repositoryId: () => currentRepositoryId(deps.probot, job.owner, job.repo),
  });
  log.info({ outcome }, "purge handled");
  return outcome;
}
