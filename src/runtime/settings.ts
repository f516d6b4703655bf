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
  PRENV_KUBECONFIG_MAX_TTL: duration("PRENV_KUBECONFIG_MAX_TTL", "12h"),
  PRENV_KUBECONFIG_SERVER: z
    .string()
    .regex(/^https:\/\/[^\s/?#]+$/, "must be the API server's https URL, e.g. https://k8s.example.com")
    .optional(),
  KUBECONFIG: z.string().optional(),
  KUBE_CONTEXT: z.string().optional(),
  APP_ID: z.coerce.number().int().positive().optional(),
});

export interface Settings {
  environment: EnvironmentSettings;
  kubeconfigPath: string | undefined;
  kubeContext: string | undefined;
  appId: number | undefined;
}

export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid settings: ${problems.join("; ")}`);
    this.name = "SettingsError";
  }
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(clean);
  if (!parsed.success) {
    throw new SettingsError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const e = parsed.data;
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
    kubeconfigPath: e.KUBECONFIG,
    kubeContext: e.KUBE_CONTEXT,
    appId: e.APP_ID,
  };
}
