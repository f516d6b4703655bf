// The environment variables prenv reads, each with its default and what a wrong value is told.
// Parsed once by loadSettings (settings.ts); nothing else reads the process environment.
import { z } from "zod";
import { DurationError, parseDuration } from "../config/duration.js";

const duration = (name: string, fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      try {
        return parseDuration(v);
      } catch (err) {
        ctx.addIssue({
          code: "custom",
          message: err instanceof DurationError ? err.message : `${name} is not a duration`,
        });
        return z.NEVER;
      }
    });

/** vcluster OSS and the Kubernetes distro it runs, as tested together (see README, "Virtual clusters"). */
export const VCLUSTER_IMAGE = "ghcr.io/loft-sh/vcluster-oss:0.36.1";
export const VCLUSTER_KUBERNETES_IMAGE = "ghcr.io/loft-sh/kubernetes:v1.34.4";

const QUANTITY = /^(?:[0-9]+(?:\.[0-9]+)?)(?:m|Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const CIDR = /^(?:(?:[0-9]{1,3}\.){3}[0-9]{1,3}\/[0-9]{1,2}|[0-9a-f:]+\/[0-9]{1,3})$/i;

/**
 * Address ranges previews may never reach (the rest of the internet they may): RFC 1918, carrier-grade
 * NAT, loopback and link-local (cloud instance metadata at 169.254.169.254 and fd00:ec2::254 included),
 * IPv6 unique-local and link-local.
 */
export const DEFAULT_EGRESS_DENY = [
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "fc00::/7",
  "fe80::/10",
];
const IMAGE = /^[a-z0-9][a-z0-9._\-/:@]*$/i;
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const APP_ID_RE = /^[1-9][0-9]{0,11}$/;
export const APP_ID_MESSAGE = "must be the GitHub App's numeric id";

export const envSchema = z.object({
  PRENV_BASE_DOMAIN: z
    .string()
    .regex(DNS_NAME, "must be a DNS name such as preview.example.com")
    .default("preview.localhost"),
  PRENV_URL_SCHEME: z.enum(["http", "https"]).default("https"),
  PRENV_INGRESS_CLASS: z.string().regex(DNS_LABEL, "must be an IngressClass name").default("nginx"),
  PRENV_INGRESS_NAMESPACE: z.string().regex(DNS_LABEL, "must be a namespace name").default("ingress-nginx"),
  PRENV_ROUTING: z.enum(["gateway", "ingress"]).default("gateway"),
  PRENV_GATEWAY_NAME: z.string().regex(DNS_NAME, "must be a Gateway's name").default("prenv"),
  PRENV_GATEWAY_NAMESPACE: z.string().regex(DNS_LABEL, "must be a namespace name").default("prenv-gateway"),
  PRENV_GATEWAY_ADDRESS: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[0-9]{1,5}$/i, "must be host:port, e.g. gateway.internal:443")
    .optional(),
  PRENV_READY_CHECK: z.enum(["url", "route", "rollout"]).default("url"),
  PRENV_READY_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(600).default(60),
  PRENV_VCLUSTER_API_INGRESS_ANNOTATIONS: z
    .string()
    .regex(
      /^([a-z0-9.\-/]+=[^,=]*)(,[a-z0-9.\-/]+=[^,=]*)*$/i,
      "must be key=value pairs separated by commas, e.g. example.com/ssl-passthrough=true",
    )
    .optional(),
  PRENV_NAMESPACE_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9]{0,9}$/, "must be 1-10 lowercase letters or digits, starting with a letter")
    .default("pr"),
  PRENV_MAX_TTL: duration("PRENV_MAX_TTL", "14d"),
  /** `npm start`'s janitor: a pass at start and then this often; `off`: none (AWS: the schedule). */
  PRENV_JANITOR_INTERVAL: z.union([
    z.literal("off").transform(() => 0),
    duration("PRENV_JANITOR_INTERVAL", "15m"),
  ]),
  PRENV_ROLLOUT_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(840).default(300),
  PRENV_CHECK_NAME: z.string().min(1).max(100).default("prenv"),
  PRENV_DEFAULT_CPU_LIMIT: z.string().default("500m"),
  PRENV_DEFAULT_MEMORY_LIMIT: z.string().default("512Mi"),
  PRENV_DEFAULT_CPU_REQUEST: z.string().default("50m"),
  PRENV_DEFAULT_MEMORY_REQUEST: z.string().default("64Mi"),
  PRENV_MAX_ENVIRONMENTS: z.coerce.number().int().min(0).default(0),
  PRENV_PRICE_CPU_HOUR: z.coerce.number().nonnegative().default(0.04048),
  PRENV_PRICE_GIB_HOUR: z.coerce.number().nonnegative().default(0.004445),
  PRENV_CURRENCY: z.string().min(1).max(8).default("USD"),
  PRENV_VCLUSTER_IMAGE: z
    .string()
    .max(512)
    .regex(IMAGE, "must be an image reference such as ghcr.io/loft-sh/vcluster-oss:0.36.1")
    .default(VCLUSTER_IMAGE),
  PRENV_VCLUSTER_KUBERNETES_IMAGE: z
    .string()
    .max(512)
    .regex(IMAGE, "must be an image reference such as ghcr.io/loft-sh/kubernetes:v1.34.4")
    .default(VCLUSTER_KUBERNETES_IMAGE),
  PRENV_VCLUSTER_API_DOMAIN: z
    .string()
    .regex(DNS_NAME, "must be a DNS name such as api.preview.example.com")
    .optional(),
  PRENV_VCLUSTER_API_ADDRESS: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[0-9]{1,5}$/i, "must be host:port, e.g. ingress.internal:443")
    .optional(),
  PRENV_VCLUSTER_PERSISTENCE: z
    .string()
    .regex(/^(off|[0-9]+(Mi|Gi|Ti))$/, "must be off or a volume size such as 5Gi")
    .default("off"),
  PRENV_VCLUSTER_CPU: z.string().regex(QUANTITY, "must be a CPU quantity such as 1 or 500m").default("1"),
  PRENV_VCLUSTER_MEMORY: z
    .string()
    .regex(QUANTITY, "must be a memory quantity such as 1Gi or 768Mi")
    .default("1Gi"),
  PRENV_VCLUSTER_READY_TIMEOUT_SECONDS: z.coerce.number().int().min(10).max(600).default(240),
  PRENV_PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, "must be an http(s) URL such as https://prenv.example.com")
    .transform((u) => u.replace(/\/+$/, ""))
    .optional(),
  PRENV_KUBECONFIG_TTL: duration("PRENV_KUBECONFIG_TTL", "1h"),
  PRENV_KUBECONFIG_MAX_TTL: duration("PRENV_KUBECONFIG_MAX_TTL", "8h"),
  PRENV_KUBECONFIG_SERVER: z
    .string()
    .regex(/^https:\/\/[^\s/?#]+$/, "must be the API server's https URL, e.g. https://k8s.example.com")
    .optional(),
  PRENV_MAX_CPU: z.string().regex(QUANTITY, "must be a CPU quantity such as 8 or 4500m").default("8"),
  PRENV_MAX_MEMORY: z.string().regex(QUANTITY, "must be a memory quantity such as 16Gi").default("16Gi"),
  PRENV_MAX_STORAGE: z.string().regex(QUANTITY, "must be a storage quantity such as 50Gi").default("50Gi"),
  PRENV_MAX_PODS: z.coerce.number().int().min(1).max(1000).default(50),
  PRENV_QUOTA_CONFIGMAPS: z.coerce.number().int().min(1).max(10_000).default(100),
  PRENV_QUOTA_SECRETS: z.coerce.number().int().min(1).max(10_000).default(100),
  PRENV_QUOTA_SERVICES: z.coerce.number().int().min(1).max(10_000).default(30),
  PRENV_QUOTA_PVCS: z.coerce.number().int().min(0).max(10_000).default(10),
  PRENV_EGRESS_DENY_CIDRS: z
    .string()
    .transform((v) =>
      v
        .split(",")
        .map((c) => c.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(CIDR, "must be a comma-separated list of CIDRs such as 10.0.0.0/8")))
    .optional(),
  PRENV_HOST_API_CIDRS: z
    .string()
    .transform((v) =>
      v
        .split(",")
        .map((c) => c.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(z.string().regex(CIDR, "must be a comma-separated list of CIDRs such as 10.0.0.0/16")).min(1),
    )
    .optional(),
  PRENV_DNS_NAMESPACE: z.string().regex(DNS_LABEL, "must be a namespace name").default("kube-system"),
  PRENV_DNS_POD_LABELS: z
    .string()
    .regex(
      /^[a-z0-9./-]+=[A-Za-z0-9._-]+(,[a-z0-9./-]+=[A-Za-z0-9._-]+)*$/,
      "must be key=value[,key=value], e.g. k8s-app=kube-dns",
    )
    .default("k8s-app=kube-dns"),
  PRENV_POD_SECURITY_VERSION: z
    .string()
    .regex(/^v1\.[0-9]{1,3}$/, "must be a Kubernetes minor version such as v1.34")
    .optional(),
  PRENV_JOB_TIMEOUT_SECONDS: z.coerce.number().int().min(30).max(900).optional(),
  PRENV_RENDER_TOOLS: z.string().max(1024).optional(),
  PRENV_RENDER_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(120).default(10),
  PRENV_RENDER_MAX_OUTPUT_MIB: z.coerce.number().int().min(1).max(64).default(4),
  PRENV_RENDER_MEMORY_MIB: z.coerce.number().int().min(64).max(8192).default(512),
  KUBECONFIG: z.string().optional(),
  KUBE_CONTEXT: z.string().optional(),
  /** The kubeconfig context of the kubeconfig endpoint's own identity (group prenv-kubeconfig), `npm start` only. */
  PRENV_ACCESS_KUBE_CONTEXT: z.string().optional(),
  PRENV_GITHUB_API_URL: z
    .string()
    .regex(/^https?:\/\/[^\s?#]+$/, "must be GitHub's API URL, e.g. https://ghe.example.com/api/v3")
    .transform((u) => u.replace(/\/+$/, ""))
    .optional(),
  PRENV_GITHUB_WEB_URL: z
    .string()
    .regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, "must be GitHub's web URL, e.g. https://ghe.example.com")
    .transform((u) => u.replace(/\/+$/, ""))
    .optional(),
  /** Probot's GitHub Enterprise Server variables. */
  GHE_HOST: z
    .string()
    .regex(/^[a-z0-9.-]+(:[0-9]+)?$/i, "must be a host name")
    .optional(),
  GHE_PROTOCOL: z.enum(["http", "https"]).default("https"),
  // The GitHub App (on Lambda each function's own secret holds these instead; see root/secrets.ts).
  APP_ID: z.string().regex(APP_ID_RE, APP_ID_MESSAGE).transform(Number).optional(),
  PRIVATE_KEY: z.string().optional(),
  PRIVATE_KEY_PATH: z.string().optional(),
  WEBHOOK_SECRET: z.string().optional(),
  GITHUB_CLIENT_ID: z.string().optional(),
  GITHUB_CLIENT_SECRET: z.string().optional(),
  /** `npm start` only: allows Probot's setup page and an empty webhook secret (src/runtime/local-start.ts). */
  PRENV_DEVELOPMENT: z.string().optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).optional(),
  // Probot's server (`npm start`).
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().optional(),
  WEBHOOK_PATH: z
    .string()
    .regex(/^\/[^\s]*$/, "must be a path such as /api/github/webhooks")
    .optional(),
  WEBHOOK_PROXY_URL: z.string().url("must be a URL such as https://smee.io/abc").optional(),
  // AWS (the Lambda functions and `npm run offline`).
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

export type Env = z.output<typeof envSchema>;
