// Container-level wiring for the Lambda functions: everything is built once per container
// (settings, secrets, clients, the Probot app) and reused by every invocation. Locally
// (`npm run offline`) the same code runs with APP_ID/PRIVATE_KEY/WEBHOOK_SECRET from the
// environment instead of Secrets Manager, KUBECONFIG instead of EKS, and PRENV_SQS_ENDPOINT
// pointing at ElasticMQ.
import { EKSClient } from "@aws-sdk/client-eks";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import type { KubeConfig } from "@kubernetes/client-node";
import { Probot } from "probot";
import { pino, type Logger } from "pino";
import { z } from "zod";
import { prenvApp } from "../app.js";
import { eksKubeConfig } from "../adapters/aws/eks-token.js";
import { loadAppSecrets, type AppSecrets } from "../adapters/aws/secrets.js";
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
import type { ReconcileJob } from "./jobs.js";

const awsEnvSchema = z.object({
  AWS_REGION: z.string().default("us-east-1"),
  PRENV_QUEUE_URL: z.string().url("must be the SQS FIFO queue URL"),
  PRENV_SQS_ENDPOINT: z.string().url().optional(),
  PRENV_SECRET_ID: z.string().optional(),
  PRENV_EKS_CLUSTER: z.string().optional(),
  PRENV_MAX_RECEIVE_COUNT: z.coerce.number().int().min(1).default(5),
  /** GitHub Enterprise Server's API URL (e.g. https://ghe.example.com/api/v3); default api.github.com. */
  PRENV_GITHUB_API_URL: z.string().url().optional(),
  APP_ID: z.string().optional(),
  PRIVATE_KEY: z.string().optional(),
  WEBHOOK_SECRET: z.string().optional(),
});

export type AwsEnv = z.infer<typeof awsEnvSchema>;

export function loadAwsEnv(env: NodeJS.ProcessEnv = process.env): AwsEnv {
  const parsed = awsEnvSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v)));
  if (!parsed.success) {
    throw new Error(
      `prenv cannot start: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  const e = parsed.data;
  if (!e.PRENV_SECRET_ID && !(e.APP_ID && e.PRIVATE_KEY && e.WEBHOOK_SECRET)) {
    throw new Error(
      "prenv cannot start: set PRENV_SECRET_ID (a Secrets Manager secret with APP_ID, PRIVATE_KEY, WEBHOOK_SECRET), or all three of those variables",
    );
  }
  return e;
}

export interface AwsRuntime {
  env: AwsEnv;
  settings: Settings;
  log: Logger;
  secrets: AppSecrets;
  sqs: SQSClient;
  probot: Probot;
  queue: SqsJobQueue;
}

let runtime: Promise<AwsRuntime> | undefined;

/** Built once per container; a failed start is not cached, so the next invocation retries. */
export function awsRuntime(): Promise<AwsRuntime> {
  runtime ??= buildRuntime().catch((err: unknown) => {
    runtime = undefined;
    throw err;
  });
  return runtime;
}

async function buildRuntime(): Promise<AwsRuntime> {
  const env = loadAwsEnv();
  const settings = loadSettings();
  const log = pino({ level: process.env.LOG_LEVEL ?? "info" });
  const secrets: AppSecrets =
    env.APP_ID && env.PRIVATE_KEY && env.WEBHOOK_SECRET
      ? {
          appId: env.APP_ID,
          privateKey: env.PRIVATE_KEY.replace(/\\n/g, "\n"),
          webhookSecret: env.WEBHOOK_SECRET,
        }
      : await loadAppSecrets({
          secretsManager: new SecretsManagerClient({ region: env.AWS_REGION }),
          secretId: env.PRENV_SECRET_ID!,
        });
  const sqs = new SQSClient({
    region: env.AWS_REGION,
    ...(env.PRENV_SQS_ENDPOINT ? { endpoint: env.PRENV_SQS_ENDPOINT } : {}),
  });
  const queue = new SqsJobQueue(sqs, env.PRENV_QUEUE_URL);
  const probot = new Probot({
    appId: secrets.appId,
    privateKey: secrets.privateKey,
    secret: secrets.webhookSecret,
    log: log.child({ name: "probot" }),
    ...(env.PRENV_GITHUB_API_URL ? { baseUrl: env.PRENV_GITHUB_API_URL } : {}),
  });
  await probot.load(prenvApp({ queue, appId: Number(secrets.appId) }));
  return { env, settings, log, secrets, sqs, probot, queue };
}

let kube: Promise<KubeConfig> | undefined;

/** EKS (DescribeCluster + STS-presigned tokens) when PRENV_EKS_CLUSTER is set, else the kubeconfig. */
export function kubeConfigFor(rt: AwsRuntime): Promise<KubeConfig> {
  kube ??= (async () => {
    if (!rt.env.PRENV_EKS_CLUSTER) return loadKubeConfig(rt.settings.kubeconfigPath, rt.settings.kubeContext);
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

export async function runJob(rt: AwsRuntime, job: ReconcileJob): Promise<void> {
  await processJob(job, {
    settings: rt.settings,
    kubeConfig: await kubeConfigFor(rt),
    templates,
    log: rt.log,
    probot: rt.probot,
  });
}

/** Tells the PR that prenv gave up on it (the job goes to the dead-letter queue). */
export async function reportGiveUp(rt: AwsRuntime, job: ReconcileJob, err: unknown): Promise<void> {
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

export async function runJanitor(rt: AwsRuntime): Promise<JanitorReport> {
  const cluster = new KubernetesCluster(await kubeConfigFor(rt));
  return runSweep({
    probot: rt.probot,
    cluster,
    enqueue: (job) => rt.queue.enqueue(job),
    prices: rt.settings.environment.prices,
    log: rt.log,
  });
}
