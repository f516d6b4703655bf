// Container-level wiring for the Lambda functions: everything is built once per container
// (settings, secrets, clients) and reused by every invocation. Each function gets only what it
// needs, and reads only its own secret (see src/adapters/aws/secrets.ts and serverless.yml):
// - webhook: the webhook secret (and the App id), the jobs queue; no private key, no cluster;
// - worker and janitor: the App's private key (Probot), the cluster as prenv-bot, the queue;
// - kubeconfig: the App's OAuth client id and secret, the cluster as prenv-kubeconfig.
// Locally (`npm run offline`) the same code runs with the secrets' keys from the environment
// instead of Secrets Manager, KUBECONFIG instead of EKS, and PRENV_SQS_ENDPOINT pointing at
// ElasticMQ.
import { EKSClient } from "@aws-sdk/client-eks";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import type { KubeConfig } from "@kubernetes/client-node";
import { Webhooks } from "@octokit/webhooks";
import { Probot } from "probot";
import { pino, type Logger } from "pino";
import { z } from "zod";
import { prenvApp } from "../app.js";
import { eksKubeConfig } from "../adapters/aws/eks-token.js";
import { loadSecret, SECRET_KEYS, type SecretKind, type SecretValues } from "../adapters/aws/secrets.js";
import { SqsJobQueue } from "../adapters/aws/sqs-queue.js";
import { KubernetesCluster } from "../adapters/kubernetes/cluster.js";
import { loadKubeConfig } from "../adapters/kubernetes/kubeconfig.js";
import type { JanitorReport } from "../environment/janitor.js";
import { runSweep } from "./janitor.js";
import { publish } from "../report/publish.js";
import { GitHubPullRequest } from "../adapters/github/pull-request.js";
import { loadSettings, type Settings } from "./settings.js";
import { loadTemplates } from "./templates.js";
import { processJob } from "./worker.js";
import { appIdentity } from "../adapters/github/app-identity.js";
import type { ReconcileJob } from "../jobs/job.js";
import { createWebhookHandler } from "./webhook-handler.js";

const awsEnvSchema = z.object({
  AWS_REGION: z.string().default("us-east-1"),
  PRENV_QUEUE_URL: z.string().url("must be the SQS FIFO queue URL").optional(),
  PRENV_SQS_ENDPOINT: z.string().url().optional(),
  /** The App secret (APP_ID, PRIVATE_KEY): worker and janitor. */
  PRENV_SECRET_ID: z.string().optional(),
  /** The webhook secret (WEBHOOK_SECRET, APP_ID): webhook function. */
  PRENV_WEBHOOK_SECRET_ID: z.string().optional(),
  /** The kubeconfig secret (GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET): kubeconfig function. */
  PRENV_KUBECONFIG_SECRET_ID: z.string().optional(),
  PRENV_EKS_CLUSTER: z.string().optional(),
  PRENV_MAX_RECEIVE_COUNT: z.coerce.number().int().min(1).default(5),
});

export type AwsEnv = z.infer<typeof awsEnvSchema>;

export function loadAwsEnv(env: NodeJS.ProcessEnv = process.env): AwsEnv {
  const parsed = awsEnvSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v)));
  if (!parsed.success) {
    throw new Error(
      `prenv cannot start: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  return parsed.data;
}

const SECRET_ID_VARIABLE: Record<
  SecretKind,
  "PRENV_WEBHOOK_SECRET_ID" | "PRENV_SECRET_ID" | "PRENV_KUBECONFIG_SECRET_ID"
> = {
  webhook: "PRENV_WEBHOOK_SECRET_ID",
  app: "PRENV_SECRET_ID",
  kubeconfig: "PRENV_KUBECONFIG_SECRET_ID",
};

/**
 * This function's own secret: from Secrets Manager (its secret id variable), or, when all of its
 * keys are set in the environment (`npm run offline`), from there. Never another function's secret.
 */
export async function functionSecret<K extends SecretKind>(
  kind: K,
  aws: AwsEnv,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SecretValues<K>> {
  const keys = SECRET_KEYS[kind];
  if (keys.every((key) => env[key])) {
    const values = Object.fromEntries(keys.map((key) => [key, env[key]!])) as Record<string, string>;
    if (values.PRIVATE_KEY) values.PRIVATE_KEY = values.PRIVATE_KEY.replace(/\\n/g, "\n");
    return values as SecretValues<K>;
  }
  const variable = SECRET_ID_VARIABLE[kind];
  const secretId = aws[variable];
  if (!secretId) {
    throw new Error(
      `prenv cannot start: set ${variable} (a Secrets Manager secret with ${keys.join(", ")}), or ${keys.join(" and ")}`,
    );
  }
  return loadSecret(kind, { secretsManager: new SecretsManagerClient({ region: aws.AWS_REGION }), secretId });
}

function queueOf(aws: AwsEnv): SqsJobQueue {
  if (!aws.PRENV_QUEUE_URL)
    throw new Error("prenv cannot start: set PRENV_QUEUE_URL (the SQS FIFO queue URL)");
  const sqs = new SQSClient({
    region: aws.AWS_REGION,
    ...(aws.PRENV_SQS_ENDPOINT ? { endpoint: aws.PRENV_SQS_ENDPOINT } : {}),
  });
  return new SqsJobQueue(sqs, aws.PRENV_QUEUE_URL);
}

/** Built once per container; a failed start is not cached, so the next invocation retries. */
function once<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () => {
    built ??= build().catch((err: unknown) => {
      built = undefined;
      throw err;
    });
    return built;
  };
}

const logger = once(() => Promise.resolve(pino({ level: process.env.LOG_LEVEL ?? "info" })));

/** The webhook function: verify, enqueue. Handlers run on @octokit/webhooks, with no GitHub credentials. */
export const webhookRuntime = once(async () => {
  const aws = loadAwsEnv();
  const secret = await functionSecret("webhook", aws);
  const queue = queueOf(aws);
  const events = new Webhooks({ secret: secret.WEBHOOK_SECRET });
  prenvApp({ queue, appId: Number(secret.APP_ID) })(events);
  return { handle: createWebhookHandler({ events, secret: secret.WEBHOOK_SECRET }) };
});

export interface BotRuntime {
  env: AwsEnv;
  settings: Settings;
  log: Logger;
  probot: Probot;
  /** The jobs queue (the janitor enqueues one reconcile per environment). */
  queue: () => SqsJobQueue;
}

/** The worker and the janitor: the App's private key, and the cluster as prenv-bot. */
export const botRuntime = once(async (): Promise<BotRuntime> => {
  const env = loadAwsEnv();
  const log = await logger();
  const secret = await functionSecret("app", env);
  const settings: Settings = { ...loadSettings(), appId: Number(secret.APP_ID) };
  const probot = new Probot({
    appId: secret.APP_ID,
    privateKey: secret.PRIVATE_KEY,
    log: log.child({ name: "probot" }),
    baseUrl: settings.github.apiUrl,
  });
  let queue: SqsJobQueue | undefined;
  return { env, settings, log, probot, queue: () => (queue ??= queueOf(env)) };
});

/** The kubeconfig function: the App's OAuth client credentials, and the cluster as prenv-kubeconfig. */
export const kubeconfigRuntime = once(async () => {
  const env = loadAwsEnv();
  const settings = loadSettings();
  const log = await logger();
  const secret = await functionSecret("kubeconfig", env);
  return {
    env,
    settings,
    log,
    client: { clientId: secret.GITHUB_CLIENT_ID, clientSecret: secret.GITHUB_CLIENT_SECRET },
  };
});

let kube: Promise<KubeConfig> | undefined;

/**
 * EKS (DescribeCluster + STS-presigned tokens, as the function's own role) when PRENV_EKS_CLUSTER
 * is set, else the kubeconfig's `context` (`npm run offline`).
 */
export function kubeConfigFor(
  rt: { env: AwsEnv; settings: Settings },
  context = rt.settings.kubeContext,
): Promise<KubeConfig> {
  kube ??= (async () => {
    if (!rt.env.PRENV_EKS_CLUSTER) return loadKubeConfig(rt.settings.kubeconfigPath, context);
    return eksKubeConfig({
      eks: new EKSClient({ region: rt.env.AWS_REGION }),
      clusterName: rt.env.PRENV_EKS_CLUSTER,
      region: rt.env.AWS_REGION,
      credentials: defaultProvider(),
    });
  })().catch((err: unknown) => {
    kube = undefined;
    throw err;
  });
  return kube;
}

const templates = loadTemplates();

export async function runJob(rt: BotRuntime, job: ReconcileJob): Promise<void> {
  await processJob(job, {
    settings: rt.settings,
    kubeConfig: await kubeConfigFor(rt),
    templates,
    log: rt.log,
    probot: rt.probot,
  });
}

/** Tells the PR that prenv gave up on it (the job goes to the dead-letter queue). */
export async function reportGiveUp(rt: BotRuntime, job: ReconcileJob, err: unknown): Promise<void> {
  const octokit = await rt.probot.auth(job.installationId);
  const ref = { owner: job.owner, repo: job.repo, number: job.number, installationId: job.installationId };
  const code = typeof err === "object" && err !== null && "code" in err ? String(err.code) : "UNEXPECTED";
  await publish(
    {
      kind: "error",
      sha: null,
      url: null,
      namespace: null,
      expiresAt: null,
      detail: `prenv could not process this pull request after ${rt.env.PRENV_MAX_RECEIVE_COUNT} attempts (${code}). The job was moved to the dead-letter queue and the operators are alerted; push a commit to try again once they have fixed it.`,
      detailMarkdown: null,
      problems: [],
      failure: null,
    },
    {
      github: new GitHubPullRequest(octokit, ref, await appIdentity(rt.probot)),
      comment: templates.comment,
      checkName: rt.settings.environment.checkName,
      environment: `pr-${job.number}`,
    },
  );
}

export async function runJanitor(rt: BotRuntime): Promise<JanitorReport> {
  const cluster = new KubernetesCluster(await kubeConfigFor(rt));
  return runSweep({
    probot: rt.probot,
    cluster,
    enqueue: (job) => rt.queue().enqueue(job),
    prices: rt.settings.environment.prices,
    log: rt.log,
  });
}
