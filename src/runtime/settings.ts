// Every environment variable prenv reads is parsed here, once, into one object that is passed
// down. Errors name the variable and say how to fix it.
import { z } from "zod";
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
    },
    kubeconfigPath: e.KUBECONFIG,
    kubeContext: e.KUBE_CONTEXT,
    appId: e.APP_ID,
  };
}
