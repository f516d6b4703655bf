// Every environment variable prenv reads is parsed here, once, into one object that is passed
// down: by `npm start` (src/main.ts), the CLI (src/cli.ts) and each Lambda function (through
// src/runtime/root/). One name per setting everywhere. Errors name the variable and say how to fix it.
import { MIN_TOKEN_MS } from "../access/limits.js";
import type { EnvironmentSettings } from "../environment/settings.js";
import { APP_ID_MESSAGE, APP_ID_RE, DEFAULT_EGRESS_DENY, envSchema, type Env } from "./env-schema.js";

/** The GitHub App's id, as APP_ID or a secret's APP_ID gives it: one rule for both. */
export function parseAppId(text: string, where = "APP_ID"): number {
  if (!APP_ID_RE.test(text.trim())) throw new SettingsError([`${where}: ${APP_ID_MESSAGE}`]);
  return Number(text.trim());
}

export interface Settings {
  environment: EnvironmentSettings;
  /** Rendering Helm charts and Kustomize overlays; toolsDir null: not available here. */
  render: RenderSettings;
  kubeconfigPath: string | undefined;
  kubeContext: string | undefined;
  /** The kubeconfig endpoint's context in `npm start` (its own identity); default: kubeContext. */
  accessKubeContext: string | undefined;
  /** The GitHub App's id (APP_ID); on Lambda it comes from the function's secret instead. */
  appId: number | undefined;
  /** GitHub's REST API and web host (device flow): github.com, or GitHub Enterprise Server. */
  github: { apiUrl: string; webUrl: string };
  /** The App's other credentials when set in the environment (`npm start`, the CLI, offline). */
  credentials: Credentials;
  /** PRENV_DEVELOPMENT=1: `npm start` may fall into Probot's setup page or accept "development". */
  development: boolean;
  /** LOG_LEVEL; unset: each entry's default (info; the CLI's janitor: warn). */
  logLevel: string | undefined;
  /** `npm start`'s janitor: milliseconds between passes (PRENV_JANITOR_INTERVAL); 0: none. */
  janitorIntervalMs: number;
  /** Probot's HTTP server (`npm start`). */
  server: {
    port: number;
    host: string | undefined;
    webhookPath: string | undefined;
    webhookProxy: string | undefined;
  };
  aws: AwsSettings;
}

/** Credentials are never logged; the composition root hands each function only its own. */
export interface Credentials {
  privateKey: string | undefined;
  privateKeyPath: string | undefined;
  webhookSecret: string | undefined;
  clientId: string | undefined;
  clientSecret: string | undefined;
}

export interface AwsSettings {
  region: string;
  /** The jobs queue (SQS FIFO). */
  queueUrl: string | undefined;
  /** The follow-up jobs' delay queue (SQS standard; its relay moves due jobs into queueUrl). */
  delayQueueUrl: string | undefined;
  /** Another SQS endpoint (ElasticMQ for `npm run offline` and the tests). */
  sqsEndpoint: string | undefined;
  /** Another Secrets Manager endpoint (AWS_ENDPOINT_URL_SECRETS_MANAGER, as the AWS SDKs read it). */
  secretsEndpoint: string | undefined;
  /** Each function's own secret in Secrets Manager. */
  secretIds: { app: string | undefined; webhook: string | undefined; kubeconfig: string | undefined };
  /** Reach the cluster through EKS (the function's role, STS-presigned tokens) instead of KUBECONFIG. */
  eksCluster: string | undefined;
  /** The queue's redrive maxReceiveCount: the attempts a job gets before the dead-letter queue. */
  maxReceiveCount: number;
  /** The function's own AWS credentials as Lambda sets them in the environment (never logged). */
  credentials: {
    accessKeyId: string | undefined;
    secretAccessKey: string | undefined;
    sessionToken: string | undefined;
  };
}

export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid settings: ${problems.join("; ")}`);
    this.name = "SettingsError";
  }
}

/** What no single variable shows: settings that must fit together. */
function crossChecks(e: Env): string[] {
  const problems: string[] = [];
  if (e.PRENV_KUBECONFIG_TTL < MIN_TOKEN_MS || e.PRENV_KUBECONFIG_MAX_TTL < MIN_TOKEN_MS) {
    problems.push(
      "PRENV_KUBECONFIG_TTL and PRENV_KUBECONFIG_MAX_TTL: must be at least 10m (Kubernetes' minimum token lifetime)",
    );
  }
  if (e.PRENV_KUBECONFIG_TTL > e.PRENV_KUBECONFIG_MAX_TTL) {
    problems.push("PRENV_KUBECONFIG_TTL: must not be longer than PRENV_KUBECONFIG_MAX_TTL");
  }
  // Hosts are `<namespace>.<domain>`, namespaces up to 63 characters, hosts up to 253.
  for (const [name, domain] of [
    ["PRENV_BASE_DOMAIN", e.PRENV_BASE_DOMAIN],
    ["PRENV_VCLUSTER_API_DOMAIN", e.PRENV_VCLUSTER_API_DOMAIN ?? `api.${e.PRENV_BASE_DOMAIN}`],
  ] as const) {
    if (domain.length > 253 - 64)
      problems.push(`${name}: must be at most ${253 - 64} characters (hosts are <namespace>.${name})`);
  }
  if (e.PRENV_JOB_TIMEOUT_SECONDS !== undefined) {
    // A job that may wait for a new virtual cluster, and for the route and URL once the workloads are
    // ready, must end before its function. (Rollouts are not waited for in a job: follow-up jobs
    // look at them; see src/environment/rollout.ts.)
    const ready = e.PRENV_READY_CHECK === "rollout" ? 0 : e.PRENV_READY_TIMEOUT_SECONDS;
    const longest = e.PRENV_VCLUSTER_READY_TIMEOUT_SECONDS + ready + 60;
    if (longest > e.PRENV_JOB_TIMEOUT_SECONDS) {
      problems.push(
        `PRENV_VCLUSTER_READY_TIMEOUT_SECONDS (${e.PRENV_VCLUSTER_READY_TIMEOUT_SECONDS}) + PRENV_READY_TIMEOUT_SECONDS (${ready}) + 60 s must fit in the worker's timeout PRENV_JOB_TIMEOUT_SECONDS (${e.PRENV_JOB_TIMEOUT_SECONDS}); lower the waits`,
      );
    }
  }
  return problems;
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(clean);
  if (!parsed.success) {
    throw new SettingsError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const e = parsed.data;
  const problems = crossChecks(e);
  if (problems.length > 0) throw new SettingsError(problems);
  return {
    environment: {
      namespacePrefix: e.PRENV_NAMESPACE_PREFIX,
      baseDomain: e.PRENV_BASE_DOMAIN,
      urlScheme: e.PRENV_URL_SCHEME,
      ingressClass: e.PRENV_INGRESS_CLASS,
      ingressNamespace: e.PRENV_INGRESS_NAMESPACE,
      routing: {
        mode: e.PRENV_ROUTING,
        gateway: { name: e.PRENV_GATEWAY_NAME, namespace: e.PRENV_GATEWAY_NAMESPACE },
        address: e.PRENV_GATEWAY_ADDRESS ?? null,
        readyCheck: e.PRENV_READY_CHECK,
        readyTimeoutMs: e.PRENV_READY_TIMEOUT_SECONDS * 1000,
        apiIngressAnnotations: pairs(e.PRENV_VCLUSTER_API_INGRESS_ANNOTATIONS),
      },
      maxTtlMs: e.PRENV_MAX_TTL,
      rolloutTimeoutMs: e.PRENV_ROLLOUT_TIMEOUT_SECONDS * 1000,
      rolloutCheckMaxMs: e.PRENV_ROLLOUT_CHECK_SECONDS * 1000,
      checkName: e.PRENV_CHECK_NAME,
      maxEnvironments: e.PRENV_MAX_ENVIRONMENTS,
      prices: {
        cpuHour: e.PRENV_PRICE_CPU_HOUR,
        gibHour: e.PRENV_PRICE_GIB_HOUR,
        currency: e.PRENV_CURRENCY,
      },
      ceilings: {
        cpu: e.PRENV_MAX_CPU,
        memory: e.PRENV_MAX_MEMORY,
        storage: e.PRENV_MAX_STORAGE,
        pods: e.PRENV_MAX_PODS,
      },
      objectQuota: {
        configMaps: e.PRENV_QUOTA_CONFIGMAPS,
        secrets: e.PRENV_QUOTA_SECRETS,
        services: e.PRENV_QUOTA_SERVICES,
        persistentVolumeClaims: e.PRENV_QUOTA_PVCS,
      },
      egressDeny: e.PRENV_EGRESS_DENY_CIDRS ?? DEFAULT_EGRESS_DENY,
      hostApi: e.PRENV_HOST_API_CIDRS ?? ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
      dns: {
        namespace: e.PRENV_DNS_NAMESPACE,
        podLabels: Object.fromEntries(
          e.PRENV_DNS_POD_LABELS.split(",").map((kv) => kv.split("=") as [string, string]),
        ),
      },
      podSecurityVersion: e.PRENV_POD_SECURITY_VERSION ?? null,
      containerDefaults: {
        defaultCpu: e.PRENV_DEFAULT_CPU_LIMIT,
        defaultMemory: e.PRENV_DEFAULT_MEMORY_LIMIT,
        defaultRequestCpu: e.PRENV_DEFAULT_CPU_REQUEST,
        defaultRequestMemory: e.PRENV_DEFAULT_MEMORY_REQUEST,
      },
      vcluster: {
        image: e.PRENV_VCLUSTER_IMAGE,
        kubernetesImage: e.PRENV_VCLUSTER_KUBERNETES_IMAGE,
        apiDomain: e.PRENV_VCLUSTER_API_DOMAIN ?? `api.${e.PRENV_BASE_DOMAIN}`,
        apiAddress: e.PRENV_VCLUSTER_API_ADDRESS ?? null,
        persistence: e.PRENV_VCLUSTER_PERSISTENCE === "off" ? null : e.PRENV_VCLUSTER_PERSISTENCE,
        cpu: e.PRENV_VCLUSTER_CPU,
        memory: e.PRENV_VCLUSTER_MEMORY,
        readyTimeoutMs: e.PRENV_VCLUSTER_READY_TIMEOUT_SECONDS * 1000,
      },
      access: {
        publicUrl: e.PRENV_PUBLIC_URL ?? null,
        defaultTtlMs: e.PRENV_KUBECONFIG_TTL,
        maxTtlMs: e.PRENV_KUBECONFIG_MAX_TTL,
        hostServer: e.PRENV_KUBECONFIG_SERVER ?? null,
      },
    },
    render: renderSettings(e),
    ...kubeContexts(e),
    appId: e.APP_ID,
    github: githubUrls(e),
    credentials: {
      privateKey: e.PRIVATE_KEY,
      privateKeyPath: e.PRIVATE_KEY_PATH,
      webhookSecret: e.WEBHOOK_SECRET,
      clientId: e.GITHUB_CLIENT_ID,
      clientSecret: e.GITHUB_CLIENT_SECRET,
    },
    development: e.PRENV_DEVELOPMENT === "1" || e.PRENV_DEVELOPMENT === "true",
    logLevel: e.LOG_LEVEL,
    janitorIntervalMs: e.PRENV_JANITOR_INTERVAL,
    server: { port: e.PORT, host: e.HOST, webhookPath: e.WEBHOOK_PATH, webhookProxy: e.WEBHOOK_PROXY_URL },
    aws: awsSettings(e),
  };
}

export interface RenderSettings {
  /** Directory of the pinned helm and kustomize binaries (/opt/bin on Lambda), or null. */
  toolsDir: string | null;
  timeoutMs: number;
  maxOutputBytes: number;
  memoryBytes: number;
}

function renderSettings(e: Env): RenderSettings {
  return {
    toolsDir: e.PRENV_RENDER_TOOLS ?? null,
    timeoutMs: e.PRENV_RENDER_TIMEOUT_SECONDS * 1000,
    maxOutputBytes: e.PRENV_RENDER_MAX_OUTPUT_MIB * 1024 * 1024,
    memoryBytes: e.PRENV_RENDER_MEMORY_MIB * 1024 * 1024,
  };
}

function awsSettings(e: Env): AwsSettings {
  return {
    region: e.AWS_REGION,
    queueUrl: e.PRENV_QUEUE_URL,
    delayQueueUrl: e.PRENV_DELAY_QUEUE_URL,
    sqsEndpoint: e.PRENV_SQS_ENDPOINT,
    secretsEndpoint: e.AWS_ENDPOINT_URL_SECRETS_MANAGER,
    secretIds: {
      app: e.PRENV_SECRET_ID,
      webhook: e.PRENV_WEBHOOK_SECRET_ID,
      kubeconfig: e.PRENV_KUBECONFIG_SECRET_ID,
    },
    eksCluster: e.PRENV_EKS_CLUSTER,
    maxReceiveCount: e.PRENV_MAX_RECEIVE_COUNT,
    credentials: {
      accessKeyId: e.AWS_ACCESS_KEY_ID,
      secretAccessKey: e.AWS_SECRET_ACCESS_KEY,
      sessionToken: e.AWS_SESSION_TOKEN,
    },
  };
}

function kubeContexts(e: Env) {
  return {
    kubeconfigPath: e.KUBECONFIG,
    kubeContext: e.KUBE_CONTEXT,
    accessKubeContext: e.PRENV_ACCESS_KUBE_CONTEXT ?? e.KUBE_CONTEXT,
  };
}

/** GitHub's API and web URLs: PRENV_GITHUB_API_URL, else Probot's GHE_HOST, else github.com. */
function githubUrls(e: Env): { apiUrl: string; webUrl: string } {
  const apiUrl =
    e.PRENV_GITHUB_API_URL ??
    (e.GHE_HOST ? `${e.GHE_PROTOCOL}://${e.GHE_HOST}/api/v3` : "https://api.github.com");
  if (e.PRENV_GITHUB_WEB_URL) return { apiUrl, webUrl: e.PRENV_GITHUB_WEB_URL };
  if (/^https:\/\/api\.github\.com$/.test(apiUrl)) return { apiUrl, webUrl: "https://github.com" };
  const ghe = /^https:\/\/api\.([^/]+\.ghe\.com)$/.exec(apiUrl);
  if (ghe) return { apiUrl, webUrl: `https://${ghe[1]}` };
  return { apiUrl, webUrl: apiUrl.replace(/\/api\/v3$/, "") };
}

/** `k=v,k=v` → an object (the schema has checked the shape). */
function pairs(text: string | undefined): Record<string, string> {
  if (!text) return {};
  return Object.fromEntries(text.split(",").map((kv) => kv.split("=") as [string, string]));
}
