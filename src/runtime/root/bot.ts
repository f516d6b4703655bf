// The worker and the janitor functions (and the CLI's janitor): the App's private key, the cluster
// as prenv-bot, prenv's templates, the jobs queue. Built once per container from the settings.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger as Pino } from "pino";
import type { Probot } from "probot";
import type { JanitorReport } from "../../environment/janitor.js";
import type { JobQueue, LaterQueue, ReconcileJob } from "../../jobs/job.js";
import { tellPullRequest, unsettleEnvironment, type Tell, type Unsettle } from "../failures.js";
import { runSweep } from "../janitor.js";
import { loadSettings, type Settings } from "../settings.js";
import { loadTemplates } from "../templates.js";
import { processJob, type WorkerDeps } from "../worker.js";
import { hostCluster } from "./cluster.js";
import { appProbot } from "./github.js";
import { clusterKubeConfig } from "./eks.js";
import { rootLogger } from "./logger.js";
import { once } from "./once.js";
import { functionCredentials } from "./aws.js";
import { sqsQueue } from "./queue.js";
import { appCredentials } from "./secrets.js";

export interface BotRoot {
  settings: Settings;
  log: Pino;
  probot: Probot;
  templates: WorkerDeps["templates"];
  /** The host cluster as prenv-bot (EKS or the kubeconfig), built on first use. */
  kubeConfig(): Promise<KubeConfig>;
  /** The jobs queue (the janitor enqueues one reconcile per environment; the worker follow-ups), built on first use. */
  queue(): JobQueue & LaterQueue;
  /** Tells a job's PR that prenv stopped working on it. */
  tell: Tell;
  /** Marks a job's environment for the janitor (before its last attempt). */
  unsettle: Unsettle;
}

/** From the process environment, once per container. */
export const botRoot = once(() => buildBotRoot(loadSettings(process.env)));

export async function buildBotRoot(settings: Settings, log: Pino = rootLogger(settings)): Promise<BotRoot> {
  const app = await appCredentials(settings);
  const full: Settings = { ...settings, appId: app.appId };
  const probot = appProbot(full, app, log);
  const templates = loadTemplates();
  const kubeConfig = once(() => clusterKubeConfig(full));
  let queue: (JobQueue & LaterQueue) | undefined;
  return {
    settings: full,
    log,
    probot,
    templates,
    kubeConfig,
    queue: () => (queue ??= sqsQueue(full, functionCredentials(full))),
    tell: tellPullRequest({ probot, settings: full, templates }),
    unsettle: unsettleEnvironment({ kubeConfig, settings: full, log }),
  };
}

export async function runJob(root: BotRoot, job: ReconcileJob, attempt = 1): Promise<void> {
  const { settings, templates, log, probot } = root;
  const kubeConfig = await root.kubeConfig();
  await processJob(job, { settings, kubeConfig, templates, log, probot, later: root.queue(), attempt });
}

/** A janitor pass; what to do with each reconcile job is the caller's (the queue on AWS). */
export async function runJanitor(
  root: BotRoot,
  opts: { enqueue?: (job: ReconcileJob) => Promise<void>; dryRun?: boolean } = {},
): Promise<JanitorReport> {
  return runSweep({
    probot: root.probot,
    cluster: hostCluster(await root.kubeConfig(), root.settings),
    enqueue: opts.enqueue ?? ((job) => root.queue().enqueue(job)),
    prices: root.settings.environment.prices,
    rolloutTimeoutMs: root.settings.environment.rolloutTimeoutMs,
    log: root.log,
    ...(opts.dryRun ? { dryRun: true } : {}),
  });
}
