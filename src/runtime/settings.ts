// Every environment variable prenv reads is parsed here, once, into one object that is passed
// down. Errors name the variable and say how to fix it.
import { z } from "zod";
import { MIN_TOKEN_MS } from "../access/issue.js";
import { DurationError, parseDuration } from "../config/duration.js";
import type { EnvironmentSettings } from "../environment/settings.js";

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

/**
 * vcluster OSS and the Kubernetes distro it runs, as the cluster tier builds and runs them together
 * (test/cluster/vcluster/go.mod, test/cluster/k8s/go.mod; see README, "Virtual clusters").
 */
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

const envSchema = z.object({
  PRENV_BASE_DOMAIN: z
    .string()
    .regex(DNS_NAME, "must be a DNS name such as preview.example.com")
    .default("preview.localhost"),
  PRENV_URL_SCHEME: z.enum(["http", "https"]).default("https"),
  PRENV_INGRESS_CLASS: z.string().regex(DNS_LABEL, "must be an IngressClass name").default("nginx"),
  PRENV_INGRESS_NAMESPACE: z.string().regex(DNS_LABEL, "must be a namespace name").default("ingress-nginx"),
  PRENV_NAMESPACE_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9]{0,9}$/, "must be 1-10 lowercase letters or digits, starting with a letter")
    .default("pr"),
  PRENV_MAX_TTL: duration("PRENV_MAX_TTL", "14d"),
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
  APP_ID: z.coerce.number().int().positive().optional(),
});

export interface Settings {
  environment: EnvironmentSettings;
  /** Rendering Helm charts and Kustomize overlays; toolsDir null: not available here. */
  render: RenderSettings;
  kubeconfigPath: string | undefined;
  kubeContext: string | undefined;
  /** The kubeconfig endpoint's context in `npm start` (its own identity); default: kubeContext. */
  accessKubeContext: string | undefined;
  appId: number | undefined;
  /** GitHub's REST API and web host (device flow): github.com, or GitHub Enterprise Server. */
  github: { apiUrl: string; webUrl: string };
}

export interface RenderSettings {
  /** Directory of the pinned helm and kustomize binaries (/opt/bin on Lambda), or null. */
  toolsDir: string | null;
  timeoutMs: number;
  maxOutputBytes: number;
  memoryBytes: number;
}

function renderSettings(e: z.output<typeof envSchema>): RenderSettings {
  return {
    toolsDir: e.PRENV_RENDER_TOOLS ?? null,
    timeoutMs: e.PRENV_RENDER_TIMEOUT_SECONDS * 1000,
    maxOutputBytes: e.PRENV_RENDER_MAX_OUTPUT_MIB * 1024 * 1024,
    memoryBytes: e.PRENV_RENDER_MEMORY_MIB * 1024 * 1024,
  };
}

export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid settings: ${problems.join("; ")}`);
    this.name = "SettingsError";
  }
}

type Env = z.output<typeof envSchema>;

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
    // A job that may wait for a new virtual cluster and then for rollouts must end before its function.
    const longest = e.PRENV_ROLLOUT_TIMEOUT_SECONDS + e.PRENV_VCLUSTER_READY_TIMEOUT_SECONDS + 60;
    if (longest > e.PRENV_JOB_TIMEOUT_SECONDS) {
      problems.push(
        `PRENV_ROLLOUT_TIMEOUT_SECONDS (${e.PRENV_ROLLOUT_TIMEOUT_SECONDS}) + PRENV_VCLUSTER_READY_TIMEOUT_SECONDS (${e.PRENV_VCLUSTER_READY_TIMEOUT_SECONDS}) + 60 s must fit in the worker's timeout PRENV_JOB_TIMEOUT_SECONDS (${e.PRENV_JOB_TIMEOUT_SECONDS}); lower the waits`,
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
      maxTtlMs: e.PRENV_MAX_TTL,
      rolloutTimeoutMs: e.PRENV_ROLLOUT_TIMEOUT_SECONDS * 1000,
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
  };
}

function kubeContexts(e: z.infer<typeof envSchema>) {
  return {
    kubeconfigPath: e.KUBECONFIG,
    kubeContext: e.KUBE_CONTEXT,
    accessKubeContext: e.PRENV_ACCESS_KUBE_CONTEXT ?? e.KUBE_CONTEXT,
  };
}

/** GitHub's API and web URLs: PRENV_GITHUB_API_URL, else Probot's GHE_HOST, else github.com. */
function githubUrls(e: z.infer<typeof envSchema>): { apiUrl: string; webUrl: string } {
  const apiUrl =
    e.PRENV_GITHUB_API_URL ??
    (e.GHE_HOST ? `${e.GHE_PROTOCOL}://${e.GHE_HOST}/api/v3` : "https://api.github.com");
  if (e.PRENV_GITHUB_WEB_URL) return { apiUrl, webUrl: e.PRENV_GITHUB_WEB_URL };
  if (/^https:\/\/api\.github\.com$/.test(apiUrl)) return { apiUrl, webUrl: "https://github.com" };
  const ghe = /^https:\/\/api\.([^/]+\.ghe\.com)$/.exec(apiUrl);
  if (ghe) return { apiUrl, webUrl: `https://${ghe[1]}` };
  return { apiUrl, webUrl: apiUrl.replace(/\/api\/v3$/, "") };
}
