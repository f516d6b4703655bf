import { z } from "zod";
import { DURATION_FORMAT_HINT, DURATION_PATTERN, DurationError, parseDuration } from "./duration.js";

/** Where a repository opts in to preview environments (on its default branch). */
export const CONFIG_FILE = ".github/prenv.yml";

/**
 * How to fix a field, in words a repo owner can act on. parse.ts shows it next to any problem with
 * that field. It lives in its own registry so it stays out of the generated JSON Schema.
 */
export const fixHints = z.registry<{ fix: string }>();

/** A field: its JSON Schema description (for the repo owner reading their editor) and its fix hint. */
function field<T extends z.ZodType>(schema: T, description: string, fix: string): T {
  const described = schema.describe(description);
  fixHints.add(described, { fix });
  return described;
}

/** The longest echoed user value, so a problem message never reposts a huge value. */
export const MAX_ECHO = 60;

/**
 * A user's value as it may appear in a problem message: strings quoted, cut to 60 characters, control
 * characters replaced and `@` defused so an echoed value never mentions anyone on GitHub; other values
 * described by kind. Never throws.
 */
export function echo(value: unknown): string {
  if (typeof value === "string") {
    const cleaned = value
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, "?")
      .replace(/`/g, "'")
      .replace(/@/g, "@\u200b");
    return `'${cleaned.length > MAX_ECHO ? `${cleaned.slice(0, MAX_ECHO)}…` : cleaned}'`;
  }
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    return String(value).slice(0, MAX_ECHO);
  }
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `a ${typeof value}`;
}

// ---------------------------------------------------------------------------------------------
// Building blocks

const duration = z
  .string()
  .regex(new RegExp(DURATION_PATTERN), {
    error: (issue) => `${echo(issue.input)} is not a valid duration`,
  })
  .superRefine(
    (text, ctx) => {
      try {
        parseDuration(text);
      } catch (error) {
        if (!(error instanceof DurationError)) throw error;
        ctx.addIssue({ code: "custom", message: `${echo(text)} is not a valid duration: ${error.reason}` });
      }
    },
    { when: (payload) => payload.issues.length === 0 },
  );

/** A Kubernetes quantity in the plain forms people write: `500m`, `2`, `1.5`, `4Gi`, `512Mi`, `1G`. */
const QUANTITY_RE = /^(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

function quantity(kind: "cpu" | "bytes") {
  const examples = kind === "cpu" ? "500m, 1 or 2.5" : "512Mi, 4Gi or 1G";
  const text = z
    .string()
    .max(32)
    .regex(QUANTITY_RE, {
      error: (issue) => `${echo(issue.input)} is not a Kubernetes quantity (such as ${examples})`,
    })
    .superRefine(
      (value, ctx) => {
        if (!/[1-9]/.test(value.replace(/[a-zA-Z]+$/, ""))) {
          ctx.addIssue({ code: "custom", message: `${echo(value)} must be more than zero` });
        }
        if (kind === "bytes" && value.endsWith("m")) {
          ctx.addIssue({
            code: "custom",
            message: `${echo(value)} means thousandths of a byte ('m' is milli); write Mi for mebibytes`,
          });
        }
      },
      { when: (payload) => payload.issues.length === 0 },
    );
  return z
    .union([text, z.number().positive()], {
      error: (issue) => `must be a Kubernetes quantity such as ${examples}, not ${echo(issue.input)}`,
    })
    .transform((value) => String(value))
    .pipe(text);
}

const DNS_LABEL_RE = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
/** IANA_SVC_NAME: lowercase letters, digits and single inner dashes, with at least one letter. */
const PORT_NAME_RE = /^(?=[-a-z0-9]*[a-z])[a-z0-9](?:-?[a-z0-9])*$/;

const glob = z.string().min(1).max(256);

// ---------------------------------------------------------------------------------------------
// Sections

/** A path inside the repository: relative to its root, no `..`, no leading `/`. */
function repoPath() {
  return z
    .string()
    .min(1)
    .max(255)
    .superRefine((path, ctx) => {
      const problem = relativePathProblem(path);
      if (problem) ctx.addIssue({ code: "custom", message: `${echo(path)} ${problem}` });
    });
}

const REPO_PATH_FIX = "Give a path relative to the repository root, without a leading '/' or '..'";

/** Where raw manifests are when neither `deploy.helm` nor `deploy.kustomize` is given. */
export const DEFAULT_DEPLOY_PATH = "deploy/preview";

/** A `set` key: a dotted path into the chart's values, e.g. `image.tag`. */
const SET_KEY_RE = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;
const IMAGE_NAME_RE = /^[a-z0-9][a-z0-9._\-/:]*$/;

/** `deploy.helm:` a chart in the repository, rendered with `helm template`. */
const helmSchema = z.strictObject({
  chart: field(
    repoPath(),
    "Directory of the Helm chart (the one holding Chart.yaml), relative to the repository root. " +
      "Dependencies must be vendored under its charts/ directory.",
    `${REPO_PATH_FIX}, e.g. deploy/chart.`,
  ),
  values: field(
    z.array(repoPath()).max(20).default([]),
    "Values files in this repository, applied in this order after the chart's own values.yaml " +
      "(later files win), as `helm template -f` does.",
    `List files relative to the repository root, e.g. [deploy/values-preview.yaml]. ${REPO_PATH_FIX}.`,
  ),
  set: field(
    z
      .record(
        z.string(),
        z.union([z.string().max(1024), z.number(), z.boolean(), z.null()], {
          error: (issue) => `${echo(issue.input)} is not a text, number, boolean or null value`,
        }),
      )
      .superRefine(
        (set, ctx) => {
          const keys = Object.keys(set);
          if (keys.length > 50) ctx.addIssue({ code: "custom", message: "at most 50 values can be set" });
          for (const key of keys) {
            if (key.length > 200 || !SET_KEY_RE.test(key)) {
              ctx.addIssue({
                code: "custom",
                path: [key],
                message: `${echo(key)} is not a dotted values key such as image.tag`,
              });
            } else if (key === "prenv" || key.startsWith("prenv.")) {
              ctx.addIssue({
                code: "custom",
                path: [key],
                message: `${echo(key)} is one of the prenv values, which prenv sets itself`,
              });
            }
          }
        },
        { when: (payload) => typeof payload.value === "object" && payload.value !== null },
      )
      .default({}),
    "Values set on top of the values files, as `dotted.key: value` (e.g. image.tag: '{{sha}}'). " +
      "Text values may use the template variables, like deploy.image.",
    "Write set as a mapping of dotted keys to text, numbers or booleans, e.g. set: { image.tag: '{{sha}}' }; " +
      "the prenv.* values are reserved.",
  ),
  releaseName: field(
    z
      .string()
      .max(53)
      .regex(DNS_LABEL_RE, { error: (issue) => `${echo(issue.input)} is not a valid release name` })
      .optional(),
    "The Helm release name (.Release.Name). Default: pr-<number> of the pull request.",
    "Use at most 53 lowercase letters, digits and '-', starting and ending with a letter or digit.",
  ),
});

/** `deploy.kustomize:` an overlay in the repository, rendered with `kustomize build`. */
const kustomizeSchema = z.strictObject({
  path: field(
    repoPath(),
    "Directory of the Kustomize overlay (the one holding kustomization.yaml), relative to the " +
      "repository root. Its bases must be in the repository too.",
    `${REPO_PATH_FIX}, e.g. deploy/overlays/preview.`,
  ),
  images: field(
    z
      .array(
        z
          .string()
          .max(255)
          .regex(IMAGE_NAME_RE, { error: (issue) => `${echo(issue.input)} is not an image name` }),
      )
      .max(20)
      .default([]),
    "Image names used in the overlay that deploy.image replaces (a Kustomize images override), " +
      "e.g. [web] turns every `image: web` into the rendered deploy.image.",
    "List image names as they appear in the manifests, without a tag, e.g. [web]; set deploy.image too.",
  ),
});

/** `deploy:` what to deploy and what to wait for before applying it. */
const deploySchema = z
  .strictObject({
    path: field(
      // No zod default (it would make every config look as if it gave a path): the transform below
      // applies it, and the JSON Schema shows it.
      repoPath().optional().meta({ default: DEFAULT_DEPLOY_PATH }),
      "Directory of Kubernetes YAML manifests (optionally Handlebars templates) in this repository, " +
        "relative to the repository root. prenv reads it at the pull request's head commit. The " +
        `default (${DEFAULT_DEPLOY_PATH}) applies when neither helm nor kustomize is given.`,
      `${REPO_PATH_FIX}, e.g. ${DEFAULT_DEPLOY_PATH}.`,
    ),
    helm: field(
      helmSchema.optional(),
      "Deploy a Helm chart from this repository instead of plain manifests (rendered offline with " +
        "`helm template`; chart hooks are not run).",
      "Write helm as a mapping, e.g. helm: { chart: deploy/chart, values: [deploy/values-preview.yaml] }.",
    ),
    kustomize: field(
      kustomizeSchema.optional(),
      "Deploy a Kustomize overlay from this repository instead of plain manifests (rendered offline " +
        "with `kustomize build`).",
      "Write kustomize as a mapping, e.g. kustomize: { path: deploy/overlays/preview }.",
    ),
    waitForChecks: field(
      z.array(z.string().min(1).max(255)).max(50).default([]),
      "Names of check runs (for example your image build) that must succeed on the pull request's head " +
        "commit before prenv deploys it. Empty: deploy right away.",
      "List check run names exactly as they appear in the pull request's Checks tab, e.g. [build-image].",
    ),
    image: field(
      z.string().min(1).max(1024).optional(),
      "Container image reference made available to your manifests as the `image` template variable " +
        "(to a chart as prenv.image). It may use template variables itself, e.g. ghcr.io/acme/app:{{sha}}.",
      "Give an image reference as text, e.g. ghcr.io/acme/app:{{sha}}.",
    ),
  })
  .superRefine(
    (deploy, ctx) => {
      if (typeof deploy !== "object" || deploy === null) return;
      const given = (["path", "helm", "kustomize"] as const).filter((k) => deploy[k] !== undefined);
      if (given.length > 1) {
        ctx.addIssue({
          code: "custom",
          path: [given[1]!],
          message: `deploy.${given.join(" and deploy.")} are alternatives, and only one can be given`,
          params: {
            fix: "Keep the one your repository uses: path for plain manifests, helm for a chart, kustomize for an overlay.",
          },
        });
      }
    },
    { when: () => true },
  )
  .transform((deploy) =>
    deploy.helm || deploy.kustomize ? deploy : { ...deploy, path: deploy.path ?? DEFAULT_DEPLOY_PATH },
  );

/** `url:` which Service the preview URL routes to. */
const urlSchema = z.strictObject({
  service: field(
    z
      .string()
      .max(63)
      .regex(DNS_LABEL_RE, { error: (issue) => `${echo(issue.input)} is not a valid Service name` }),
    "Name of the Service (in your manifests) that the preview URL routes to.",
    "Use the Service's metadata.name: lowercase letters, digits and '-', starting and ending with a " +
      "letter or digit, at most 63 characters.",
  ),
  port: field(
    z.union(
      [
        z.number().min(1).max(65535).multipleOf(1),
        z
          .string()
          .max(15)
          .regex(PORT_NAME_RE, { error: (issue) => `${echo(issue.input)} is not a valid port name` }),
      ],
      { error: (issue) => (issue.input === undefined ? undefined : `${echo(issue.input)} is not a port`) },
    ),
    "Port of that Service: a number from 1 to 65535 or the name of one of its ports (e.g. http).",
    "Use the Service port's number (1-65535) or its name: up to 15 lowercase letters, digits and " +
      "single dashes, with at least one letter.",
  ),
  path: field(
    z
      .string()
      .max(1024)
      .startsWith("/", { error: (issue) => `${echo(issue.input)} does not start with '/'` })
      .regex(/^[^\s]*$/, { error: "must not contain spaces" })
      .default("/"),
    "Path the preview link in the pull request comment opens, starting with '/'.",
    "Give a URL path starting with '/', e.g. / or /app/.",
  ),
});

/** `resources:` the quota of one preview environment. */
const resourcesSchema = z.strictObject({
  cpu: field(
    quantity("cpu").prefault("2"),
    "Total CPU all pods of the environment may request, as a Kubernetes quantity (e.g. 500m, 2). " +
      "The operator sets a ceiling (PRENV_MAX_CPU).",
    "Write a CPU quantity such as 500m (half a core), 1 or 2.",
  ),
  memory: field(
    quantity("bytes").prefault("4Gi"),
    "Total memory all pods of the environment may request, as a Kubernetes quantity (e.g. 512Mi, 4Gi).",
    "Write a memory quantity with a binary unit, such as 512Mi or 4Gi.",
  ),
  pods: field(
    // Not z.int(): its failure aborts the whole parse, which would hide the ttl/maxTtl check.
    z.number().min(1).max(200).multipleOf(1).default(20),
    "Maximum number of pods in the environment (1 to 200).",
    "Write a whole number from 1 to 200.",
  ),
  storage: field(
    quantity("bytes").prefault("10Gi"),
    "Total storage all persistent volume claims of the environment may request (e.g. 10Gi).",
    "Write a storage quantity with a binary unit, such as 1Gi or 10Gi.",
  ),
});

const CIDR_RE = /^(?:(?:[0-9]{1,3}\.){3}[0-9]{1,3}\/[0-9]{1,2}|[0-9a-fA-F:]{2,39}\/[0-9]{1,3})$/;

/** `egress:` where the environment's pods may connect to, beyond DNS and their own namespace. */
const egressSchema = z.strictObject({
  allow: field(
    z
      .union(
        [
          z.enum(["internet", "none"]),
          z
            .array(
              z
                .string()
                .max(43)
                .regex(CIDR_RE, {
                  error: (issue) => `${echo(issue.input)} is not a CIDR such as 203.0.113.0/24`,
                }),
            )
            .min(1)
            .max(20),
        ],
        {
          error: (issue) =>
            issue.input === undefined
              ? undefined
              : `must be internet, none or a list of CIDRs, not ${echo(issue.input)}`,
        },
      )
      .default("internet"),
    "Where pods may connect to besides the cluster DNS and their own namespace: 'internet' (the public " +
      "internet; the operator's private ranges stay out of reach), 'none', or a list of public ranges " +
      "(CIDRs) to allow instead of the whole internet. It can only narrow what the operator allows.",
    "Write internet, none, or a list such as [203.0.113.0/24].",
  ),
});

/** `filters:` which pull requests get an environment. All non-empty filters must match. */
const filtersSchema = z.strictObject({
  branches: field(
    z.array(glob).max(100).default([]),
    "Glob patterns for the pull request's base (target) branch, e.g. [main, 'release/*']. " +
      "Empty: any base branch.",
    "List branch name patterns; '*' matches within one path segment, '**' across segments.",
  ),
  labels: field(
    z.array(z.string().min(1).max(50)).max(100).default([]),
    "Labels of which the pull request must carry at least one. Empty: no label needed.",
    "List label names exactly as they appear on GitHub (at most 50 characters each).",
  ),
  paths: field(
    z.array(glob).max(100).default([]),
    "Glob patterns for changed files, e.g. ['src/**', Dockerfile]; the pull request must change at " +
      "least one matching file. Empty: any change.",
    "List file path patterns relative to the repository root; '*' matches within one directory, " +
      "'**' across directories.",
  ),
  drafts: field(z.boolean().default(false), "Also deploy draft pull requests.", "Write true or false."),
});

const clock = z
  .string()
  .regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, { error: (i) => `${echo(i.input)} is not a time like 08:00` });
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

/** `sleep:` when an environment sleeps (Deployments and StatefulSets scaled to zero). */
const sleepSchema = z.strictObject({
  after: field(
    duration.optional(),
    "Put the environment to sleep after this long without a push or command, e.g. 2h. Leave out to never sleep when idle.",
    DURATION_FORMAT_HINT,
  ),
  schedule: field(
    z
      .strictObject({
        timezone: field(
          z.string().refine(validTimeZone, { error: (i) => `${echo(i.input)} is not an IANA time zone` }),
          "IANA time zone of the awake hours, e.g. Europe/Berlin.",
          "Use a time zone name such as Europe/Berlin or America/New_York.",
        ),
        days: field(
          z.array(z.enum(DAYS)).min(1).max(7).default(["mon", "tue", "wed", "thu", "fri"]),
          "Days on which the environment is awake (mon..sun).",
          "List day abbreviations: mon, tue, wed, thu, fri, sat, sun.",
        ),
        from: field(clock.default("08:00"), "Start of the awake hours, HH:MM.", "Write a time like 08:00."),
        to: field(clock.default("20:00"), "End of the awake hours, HH:MM.", "Write a time like 20:00."),
      })
      .optional(),
    "Awake hours: outside them (nights, weekends) the environment sleeps; it wakes when they begin.",
    "Write schedule as a mapping, e.g. schedule: { timezone: Europe/Berlin, days: [mon, tue, wed, thu, fri], from: '08:00', to: '20:00' }.",
  ),
});

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

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
    "How long before expiry prenv updates its comment and mentions the pull request's author once, e.g. 24h.",
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

function relativePathProblem(path: string): string | undefined {
  if (path.startsWith("/")) return "starts with '/'; the path must be relative to the repository root";
  if (path.includes("\\")) return "contains '\\'; use '/' between directories";
  if (path.split("/").includes("..")) return "contains '..'; the directory must be inside the repository";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return "contains control characters";
  return undefined;
}
