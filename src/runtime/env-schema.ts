// The environment variables prenv reads, each with its default and what a wrong value is told.
// Parsed once by loadSettings (settings.ts); nothing else reads the process environment. zod's
// tree-shakable build (zod/mini): every function parses this, the webhook's bundle included, and
// a wrong value's message is ours, in words an operator can act on.
import * as z from "zod/mini";
import { DurationError, parseDuration } from "../config/duration.js";

/** Text matching `re`, else `message`. */
const pattern = (re: RegExp, message: string) => z.string().check(z.regex(re, message));

/** A text setting with a default. */
const text = (schema: z.ZodMiniType<string, string>, fallback: string) => z._default(schema, fallback);

/** A whole number from `min` to `max` (as the environment gives it: text). */
const whole = (min: number, max: number) => {
  const message = `must be a whole number from ${min} to ${max}`;
  return z.coerce.number({ error: message }).check(z.int(message), z.gte(min, message), z.lte(max, message));
};

const number = (message: string) => z.coerce.number({ error: message }).check(z.gte(0, message));

/** A duration such as 15m; with `off`, the word `off` too, as 0. */
const duration = (name: string, fallback: string, opts: { off?: boolean } = {}) =>
  z.pipe(
    z._default(z.string(), fallback),
    z.transform((v: string, ctx) => {
      if (opts.off && v === "off") return 0;
      try {
        return parseDuration(v);
      } catch (err) {
        ctx.issues.push({
          code: "custom",
          input: v,
          message: err instanceof DurationError ? err.message : `${name} is not a duration`,
        });
        return z.NEVER;
      }
    }),
  );

/** A comma-separated list, each item matching `re`. */
const list = (re: RegExp, message: string) =>
  z.pipe(
    z.pipe(
      z.string(),
      z.transform((v: string) =>
        v
          .split(",")
          .map((c) => c.trim())
          .filter(Boolean),
      ),
    ),
    z.array(pattern(re, message)).check(z.minLength(1, message)),
  );

/** A URL matching `re`, without trailing slashes. */
const baseUrl = (re: RegExp, message: string) =>
  z.pipe(
    pattern(re, message),
    z.transform((u: string) => u.replace(/\/+$/, "")),
  );

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, `must be one of ${values.join(", ")}`);

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
/** An image reference, `fallback` when unset (and the example its error message gives). */
const imageRef = (fallback: string) =>
  text(
    z
      .string()
      .check(
        z.maxLength(512, "must be at most 512 characters"),
        z.regex(IMAGE, `must be an image reference such as ${fallback}`),
      ),
    fallback,
  );
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const APP_ID_RE = /^[1-9][0-9]{0,11}$/;
export const APP_ID_MESSAGE = "must be the GitHub App's numeric id";

export const envSchema = z.object({
  PRENV_BASE_DOMAIN: text(
    pattern(DNS_NAME, "must be a DNS name such as preview.example.com"),
    "preview.localhost",
  ),
  PRENV_URL_SCHEME: z._default(oneOf(["http", "https"]), "https"),
  PRENV_INGRESS_CLASS: text(pattern(DNS_LABEL, "must be an IngressClass name"), "nginx"),
  PRENV_INGRESS_NAMESPACE: text(pattern(DNS_LABEL, "must be a namespace name"), "ingress-nginx"),
  PRENV_ROUTING: z._default(oneOf(["gateway", "ingress"]), "gateway"),
  PRENV_GATEWAY_NAME: text(pattern(DNS_NAME, "must be a Gateway's name"), "prenv"),
  PRENV_GATEWAY_NAMESPACE: text(pattern(DNS_LABEL, "must be a namespace name"), "prenv-gateway"),
  PRENV_GATEWAY_ADDRESS: z.optional(
    pattern(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[0-9]{1,5}$/i, "must be host:port, e.g. gateway.internal:443"),
  ),
  PRENV_READY_CHECK: z._default(oneOf(["url", "route", "rollout"]), "url"),
  PRENV_READY_TIMEOUT_SECONDS: z._default(whole(5, 600), 60),
  PRENV_VCLUSTER_API_INGRESS_ANNOTATIONS: z.optional(
    pattern(
      /^([a-z0-9.\-/]+=[^,=]*)(,[a-z0-9.\-/]+=[^,=]*)*$/i,
      "must be key=value pairs separated by commas, e.g. example.com/ssl-passthrough=true",
    ),
  ),
  PRENV_NAMESPACE_PREFIX: text(
    pattern(/^[a-z][a-z0-9]{0,9}$/, "must be 1-10 lowercase letters or digits, starting with a letter"),
    "pr",
  ),
  PRENV_MAX_TTL: duration("PRENV_MAX_TTL", "14d"),
  /** `npm start`'s janitor: a pass at start and then this often; `off`: none (AWS: the schedule). */
  PRENV_JANITOR_INTERVAL: duration("PRENV_JANITOR_INTERVAL", "15m", { off: true }),
  PRENV_ROLLOUT_TIMEOUT_SECONDS: z._default(whole(1, 3600), 300),
  PRENV_ROLLOUT_CHECK_SECONDS: z._default(whole(1, 300), 20),
  PRENV_CHECK_NAME: text(
    z.string().check(z.minLength(1), z.maxLength(100, "must be at most 100 characters")),
    "prenv",
  ),
  PRENV_DEFAULT_CPU_LIMIT: text(z.string(), "500m"),
  PRENV_DEFAULT_MEMORY_LIMIT: text(z.string(), "512Mi"),
  PRENV_DEFAULT_CPU_REQUEST: text(z.string(), "50m"),
  PRENV_DEFAULT_MEMORY_REQUEST: text(z.string(), "64Mi"),
  PRENV_MAX_ENVIRONMENTS: z._default(whole(0, 1_000_000), 0),
  PRENV_PRICE_CPU_HOUR: z._default(number("must be a price, such as 0.04048"), 0.04048),
  PRENV_PRICE_GIB_HOUR: z._default(number("must be a price, such as 0.004445"), 0.004445),
  PRENV_CURRENCY: text(
    z.string().check(z.minLength(1), z.maxLength(8, "must be at most 8 characters")),
    "USD",
  ),
  PRENV_VCLUSTER_IMAGE: imageRef(VCLUSTER_IMAGE),
  PRENV_VCLUSTER_KUBERNETES_IMAGE: imageRef(VCLUSTER_KUBERNETES_IMAGE),
  PRENV_VCLUSTER_API_DOMAIN: z.optional(
    pattern(DNS_NAME, "must be a DNS name such as api.preview.example.com"),
  ),
  PRENV_VCLUSTER_API_ADDRESS: z.optional(
    pattern(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[0-9]{1,5}$/i, "must be host:port, e.g. ingress.internal:443"),
  ),
  PRENV_VCLUSTER_PERSISTENCE: text(
    pattern(/^(off|[0-9]+(Mi|Gi|Ti))$/, "must be off or a volume size such as 5Gi"),
    "off",
  ),
  PRENV_VCLUSTER_CPU: text(pattern(QUANTITY, "must be a CPU quantity such as 1 or 500m"), "1"),
  PRENV_VCLUSTER_MEMORY: text(pattern(QUANTITY, "must be a memory quantity such as 1Gi or 768Mi"), "1Gi"),
  PRENV_VCLUSTER_READY_TIMEOUT_SECONDS: z._default(whole(10, 600), 240),
  PRENV_PUBLIC_URL: z.optional(
    baseUrl(
      /^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/,
      "must be an http(s) URL such as https://prenv.example.com",
    ),
  ),
  PRENV_KUBECONFIG_TTL: duration("PRENV_KUBECONFIG_TTL", "1h"),
  PRENV_KUBECONFIG_MAX_TTL: duration("PRENV_KUBECONFIG_MAX_TTL", "8h"),
  PRENV_KUBECONFIG_SERVER: z.optional(
    pattern(/^https:\/\/[^\s/?#]+$/, "must be the API server's https URL, e.g. https://k8s.example.com"),
  ),
  PRENV_MAX_CPU: text(pattern(QUANTITY, "must be a CPU quantity such as 8 or 4500m"), "8"),
  PRENV_MAX_MEMORY: text(pattern(QUANTITY, "must be a memory quantity such as 16Gi"), "16Gi"),
  PRENV_MAX_STORAGE: text(pattern(QUANTITY, "must be a storage quantity such as 50Gi"), "50Gi"),
  PRENV_MAX_PODS: z._default(whole(1, 1000), 50),
  PRENV_QUOTA_CONFIGMAPS: z._default(whole(1, 10_000), 100),
  PRENV_QUOTA_SECRETS: z._default(whole(1, 10_000), 100),
  PRENV_QUOTA_SERVICES: z._default(whole(1, 10_000), 30),
  PRENV_QUOTA_PVCS: z._default(whole(0, 10_000), 10),
  PRENV_EGRESS_DENY_CIDRS: z.optional(
    list(CIDR, "must be a comma-separated list of CIDRs such as 10.0.0.0/8"),
  ),
  PRENV_HOST_API_CIDRS: z.optional(list(CIDR, "must be a comma-separated list of CIDRs such as 10.0.0.0/16")),
  PRENV_DNS_NAMESPACE: text(pattern(DNS_LABEL, "must be a namespace name"), "kube-system"),
  PRENV_DNS_POD_LABELS: text(
    pattern(
      /^[a-z0-9./-]+=[A-Za-z0-9._-]+(,[a-z0-9./-]+=[A-Za-z0-9._-]+)*$/,
      "must be key=value[,key=value], e.g. k8s-app=kube-dns",
    ),
    "k8s-app=kube-dns",
  ),
  PRENV_POD_SECURITY_VERSION: z.optional(
    pattern(/^v1\.[0-9]{1,3}$/, "must be a Kubernetes minor version such as v1.34"),
  ),
  PRENV_JOB_TIMEOUT_SECONDS: z.optional(whole(30, 900)),
  PRENV_RENDER_TOOLS: z.optional(z.string().check(z.maxLength(1024, "must be at most 1024 characters"))),
  PRENV_RENDER_TIMEOUT_SECONDS: z._default(whole(1, 120), 10),
  PRENV_RENDER_MAX_OUTPUT_MIB: z._default(whole(1, 64), 4),
  PRENV_RENDER_MEMORY_MIB: z._default(whole(64, 8192), 512),
  KUBECONFIG: z.optional(z.string()),
  KUBE_CONTEXT: z.optional(z.string()),
  /** The kubeconfig context of the kubeconfig endpoint's own identity (group prenv-kubeconfig), `npm start` only. */
  PRENV_ACCESS_KUBE_CONTEXT: z.optional(z.string()),
  PRENV_GITHUB_API_URL: z.optional(
    baseUrl(/^https?:\/\/[^\s?#]+$/, "must be GitHub's API URL, e.g. https://ghe.example.com/api/v3"),
  ),
  PRENV_GITHUB_WEB_URL: z.optional(
    baseUrl(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, "must be GitHub's web URL, e.g. https://ghe.example.com"),
  ),
  /** Probot's GitHub Enterprise Server variables. */
  GHE_HOST: z.optional(pattern(/^[a-z0-9.-]+(:[0-9]+)?$/i, "must be a host name")),
  GHE_PROTOCOL: z._default(oneOf(["http", "https"]), "https"),
  // The GitHub App (on Lambda each function's own secret holds these instead; see root/secrets.ts).
  APP_ID: z.optional(z.pipe(pattern(APP_ID_RE, APP_ID_MESSAGE), z.transform(Number))),
  PRIVATE_KEY: z.optional(z.string()),
  PRIVATE_KEY_PATH: z.optional(z.string()),
  WEBHOOK_SECRET: z.optional(z.string()),
  GITHUB_CLIENT_ID: z.optional(z.string()),
  GITHUB_CLIENT_SECRET: z.optional(z.string()),
  /** `npm start` only: allows Probot's setup page and an empty webhook secret (src/runtime/local-start.ts). */
  PRENV_DEVELOPMENT: z.optional(z.string()),
  LOG_LEVEL: z.optional(oneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"])),
  // Probot's server (`npm start`).
  PORT: z._default(whole(0, 65_535), 3000),
  HOST: z.optional(z.string()),
  WEBHOOK_PATH: z.optional(pattern(/^\/[^\s]*$/, "must be a path such as /api/github/webhooks")),
  WEBHOOK_PROXY_URL: z.optional(z.url("must be a URL such as https://smee.io/abc")),
  // AWS (the Lambda functions and `npm run offline`).
  AWS_REGION: text(z.string(), "us-east-1"),
  /** The function's own credentials, as Lambda sets them (for SQS and Secrets Manager; never logged). */
  AWS_ACCESS_KEY_ID: z.optional(z.string()),
  AWS_SECRET_ACCESS_KEY: z.optional(z.string()),
  AWS_SESSION_TOKEN: z.optional(z.string()),
  PRENV_QUEUE_URL: z.optional(z.url("must be the SQS FIFO queue URL")),
  PRENV_DELAY_QUEUE_URL: z.optional(z.url("must be the SQS delay queue URL")),
  PRENV_SQS_ENDPOINT: z.optional(z.url("must be a URL such as http://127.0.0.1:9324")),
  /** Another Secrets Manager endpoint (the AWS SDKs' own variable for it). */
  AWS_ENDPOINT_URL_SECRETS_MANAGER: z.optional(z.url("must be a URL such as http://127.0.0.1:4566")),
  /** The App secret (APP_ID, PRIVATE_KEY): worker and janitor. */
  PRENV_SECRET_ID: z.optional(z.string()),
  /** The webhook secret (WEBHOOK_SECRET, APP_ID): webhook function. */
  PRENV_WEBHOOK_SECRET_ID: z.optional(z.string()),
  /** The kubeconfig secret (GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET): kubeconfig function. */
  PRENV_KUBECONFIG_SECRET_ID: z.optional(z.string()),
  PRENV_EKS_CLUSTER: z.optional(z.string()),
  PRENV_MAX_RECEIVE_COUNT: z._default(whole(1, 1000), 5),
});

export type Env = z.output<typeof envSchema>;
