import { z } from "zod";
import { DURATION_FORMAT_HINT, parseDuration } from "./duration.js";
import { field } from "./fields.js";
import { deploySchema } from "./deploy.js";
import {
  duration,
  egressSchema,
  filtersSchema,
  resourcesSchema,
  sleepSchema,
  urlSchema,
} from "./sections.js";

export { DEFAULT_DEPLOY_PATH } from "./deploy.js";

/** Where a repository opts in to preview environments (on its default branch). */
export const CONFIG_FILE = ".github/prenv.yml";

// ---------------------------------------------------------------------------------------------
// The file

const rootShape = {
  _extends: field(
    z.string().optional(),
    "Inherit settings from another repository's file (Probot config inheritance, e.g. .github or " +
      "acme/.github:prenv.yml). Keys in this file override inherited ones.",
    "Give a repository name such as .github or owner/repo, optionally followed by :path/to/file.yml.",
  ),
  isolation: field(
    z.enum(["namespace", "vcluster"]).default("namespace"),
    "How each preview environment is isolated: 'namespace' (one namespace per pull request with quota " +
      "and network policy) or 'vcluster' (a virtual cluster per pull request, for manifests that need " +
      "cluster-scoped resources such as CRDs).",
    "Use namespace or vcluster.",
  ),
  ttl: field(
    duration.default("72h"),
    "How long an environment lives after it is created before it is deleted, e.g. 72h or 3d (capped by maxTtl).",
    DURATION_FORMAT_HINT,
  ),
  maxTtl: field(
    duration.default("7d"),
    "The longest an environment may live, e.g. 7d. The cluster operator may " + "enforce a lower limit.",
    DURATION_FORMAT_HINT,
  ),
  deploy: field(
    deploySchema.prefault({}),
    "What to deploy into each environment.",
    "Write deploy as a mapping, e.g. deploy: { path: deploy/preview }.",
  ),
  url: field(
    urlSchema.optional(),
    "Where the preview URL in the pull request comment points. Leave out for no URL.",
    "Write url as a mapping with service and port, e.g. url: { service: web, port: 8080 }.",
  ),
  resources: field(
    resourcesSchema.prefault({}),
    "Resource quota of each environment (all its pods together).",
    "Write resources as a mapping, e.g. resources: { cpu: '2', memory: 4Gi }.",
  ),
  egress: field(
    egressSchema.prefault({}),
    "Network access of the environment's pods to outside their namespace.",
    "Write egress as a mapping, e.g. egress: { allow: none }.",
  ),
  maxEnvironments: field(
    z.number().multipleOf(1).min(1).max(1000).optional(),
    "At most this many environments of this repository at once; further pull requests wait in a queue, oldest first.",
    "Write a whole number from 1 to 1000, or leave it out for no limit (the operator's limit still applies).",
  ),
  sleep: field(
    sleepSchema.prefault({}),
    "When the environment sleeps to save the shared cluster's capacity: after idle time, and/or outside awake hours.",
    "Write sleep as a mapping, e.g. sleep: { after: 2h }.",
  ),
  warnBeforeExpiry: field(
    duration.default("24h"),
    "How long before expiry prenv updates its comment and mentions the pull request's author once, e.g. 24h. Only when that moment comes after the environment's creation: with a ttl no longer than this, a new environment is not warned (its expiry is in the comment from the start).",
    DURATION_FORMAT_HINT,
  ),
  ttlRenewOnPush: field(
    z.boolean().default(false),
    "Give the environment a fresh ttl (up to maxTtl from its creation) on every push.",
    "Use true or false.",
  ),
  forks: field(
    z.enum(["approve", "never"]).default("approve"),
    "Pull requests from forks, and from authors without write access, are never deployed automatically. " +
      "'approve': a user with write access deploys a given commit with `/env deploy`; 'never': they are not deployed at all.",
    "Use approve or never.",
  ),
  podSecurity: field(
    z
      .enum(["restricted", "baseline"], {
        error: (issue) =>
          issue.input === "privileged"
            ? "'privileged' is not allowed: preview environments share one cluster, so prenv supports only 'restricted' and 'baseline'"
            : undefined,
      })
      .default("restricted"),
    "Pod Security Standard enforced on the environment: 'restricted' (recommended) or 'baseline'. " +
      "'privileged' is not available.",
    "Use restricted, or baseline if your pods need it; make pods that need more run outside previews.",
  ),
  filters: field(
    filtersSchema.prefault({}),
    "Which pull requests get a preview environment. Every non-empty filter must match.",
    "Write filters as a mapping, e.g. filters: { branches: [main] }.",
  ),
};

/**
 * `.github/prenv.yml`: a repository's opt-in to preview environments, and the single source of truth
 * for its shape. Every key is optional; unknown keys are errors so typos do not pass silently.
 * `_extends` (Probot's config inheritance) is accepted and dropped from the parsed result. The JSON
 * Schema in `schema/prenv.schema.json` is generated from this (see `npm run schema`).
 */
export const repoConfigSchema = z
  .strictObject(rootShape)
  .superRefine(checkTtlWithinMax, { when: () => true })
  .transform(({ _extends, ...config }) => config);

/** A parsed, defaulted `.github/prenv.yml` (durations are still strings; see parseDuration). */
export type RepoConfig = z.output<typeof repoConfigSchema>;

/** ttl must not exceed maxTtl. Runs even when other fields failed, so every problem is listed at once. */
function checkTtlWithinMax(config: unknown, ctx: z.RefinementCtx): void {
  if (typeof config !== "object" || config === null) return;
  const { ttl, maxTtl } = config as { ttl?: unknown; maxTtl?: unknown };
  if (typeof ttl !== "string" || typeof maxTtl !== "string") return;
  let ttlMs: number;
  let maxMs: number;
  try {
    ttlMs = parseDuration(ttl);
    maxMs = parseDuration(maxTtl);
  } catch {
    return; // reported on the field itself
  }
  if (ttlMs > maxMs) {
    ctx.addIssue({
      code: "custom",
      path: ["ttl"],
      message: `ttl (${ttl}) is longer than maxTtl (${maxTtl})`,
      params: { fix: `Lower ttl to ${maxTtl} or less, or raise maxTtl to at least ${ttl}.` },
    });
  }
}
