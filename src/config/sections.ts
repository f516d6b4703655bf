// The sections of `.github/prenv.yml` (deploy, url, resources, egress, filters, sleep) and the
// building blocks they share. schema.ts assembles them into the file.
import { z } from "zod";
import { DURATION_FORMAT_HINT, DURATION_PATTERN, DurationError, parseDuration } from "./duration.js";
import { echo, field } from "./fields.js";

export const duration = z
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

export const DNS_LABEL_RE = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
/** IANA_SVC_NAME: lowercase letters, digits and single inner dashes, with at least one letter. */
const PORT_NAME_RE = /^(?=[-a-z0-9]*[a-z])[a-z0-9](?:-?[a-z0-9])*$/;

const glob = z.string().min(1).max(256);

/** `url:` which Service the preview URL routes to. */
export const urlSchema = z.strictObject({
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
  readyPath: field(
    z
      .string()
      .max(1024)
      .startsWith("/", { error: (issue) => `${echo(issue.input)} does not start with '/'` })
      .regex(/^[^\s]*$/, { error: "must not contain spaces" })
      .optional(),
    "Path prenv requests through the preview URL before it says the environment is ready; any answer " +
      "but a 5xx counts. Default: path.",
    "Give a URL path starting with '/', e.g. /healthz.",
  ),
});

/** `resources:` the quota of one preview environment. */
export const resourcesSchema = z.strictObject({
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
export const egressSchema = z.strictObject({
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
export const filtersSchema = z.strictObject({
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
export const sleepSchema = z.strictObject({
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
