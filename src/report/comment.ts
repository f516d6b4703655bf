// The PR comment: what it says in each state. Rendered from templates/comment.md.hbs.
import type { AccessInstructions } from "./instructions.js";
import { compileTemplate, type TemplateFn } from "../templates/engine.js";
import { isoSeconds } from "./time.js";
import type { DeploymentView, FailureReport } from "../environment/ports.js";

/** How many characters of a commit SHA the exact `/env deploy` command names (48 bits). */
export const APPROVAL_SHA_CHARS = 12;

/** The exact command that approves `sha`, as prenv shows it. */
export function approvalCommand(sha: string): string {
  return `/env deploy ${sha.slice(0, APPROVAL_SHA_CHARS)}`;
}

/** Hidden marker that identifies prenv's one comment on a PR. */
export const COMMENT_MARKER = "<!-- prenv:environment -->";

/**
 * What prenv must remember about a PR when it may have no namespace: the commit an `/env deploy`
 * approved, the commit at which `/env destroy` took the environment down, and recent command times
 * (rate limit). Kept in a hidden line of prenv's own comment, which only the App can edit.
 */
export interface CommentMeta {
  approvedSha?: string;
  /** The head commit prenv last asked approval for: only that commit can be approved. */
  awaitingSha?: string;
  destroyedSha?: string;
  commandTimes?: number[];
  /**
   * The GitHub Deployments prenv made for this PR and the state it last gave each, oldest first (at
   * most MEMORY): so a report names them without listing Deployments and reading their statuses.
   */
  deployments?: DeploymentMemo[];
  /** prenv's check runs on recent commits, oldest first (at most MEMORY). */
  checks?: CheckMemo[];
}

/** A Deployment prenv made, and the state it last gave it. */
export interface DeploymentMemo {
  id: number;
  sha: string;
  state: DeploymentView["state"];
}

/** prenv's check run on `sha`: whether it is completed, and a digest of what it last said. */
export interface CheckMemo {
  sha: string;
  id: number;
  done: boolean;
  digest: string;
}

/** How many Deployments and check runs the comment remembers (as many as were listed before). */
export const MEMORY = 5;

const META_PREFIX = "<!-- prenv:meta ";
const SHA = /^[0-9a-f]{40}$/;

export function readMeta(body: string | undefined | null): CommentMeta {
  const line = body?.split("\n").find((l) => l.startsWith(META_PREFIX) && l.endsWith(" -->"));
  if (!line) return {};
  try {
    const raw = JSON.parse(line.slice(META_PREFIX.length, -4)) as Record<string, unknown>;
    const meta: CommentMeta = {};
    if (typeof raw.approvedSha === "string" && SHA.test(raw.approvedSha)) meta.approvedSha = raw.approvedSha;
    if (typeof raw.awaitingSha === "string" && SHA.test(raw.awaitingSha)) meta.awaitingSha = raw.awaitingSha;
    if (typeof raw.destroyedSha === "string" && SHA.test(raw.destroyedSha))
      meta.destroyedSha = raw.destroyedSha;
    if (Array.isArray(raw.commandTimes)) {
      meta.commandTimes = raw.commandTimes.filter((t): t is number => Number.isSafeInteger(t)).slice(-20);
    }
    if (Array.isArray(raw.deployments))
      meta.deployments = raw.deployments.filter(isDeploymentMemo).slice(-MEMORY);
    if (Array.isArray(raw.checks)) meta.checks = raw.checks.filter(isCheckMemo).slice(-MEMORY);
    return meta;
  } catch {
    return {};
  }
}

const DEPLOYMENT_STATES = new Set([
  "in_progress",
  "success",
  "failure",
  "error",
  "inactive",
  "pending",
  "queued",
]);

/** What every remembered GitHub object carries: its id and the commit it is for. */
function isMemo(x: unknown): x is { id: number; sha: string } {
  const m = x as { id?: unknown; sha?: unknown } | null;
  return (
    typeof m === "object" &&
    m !== null &&
    Number.isSafeInteger(m.id) &&
    typeof m.sha === "string" &&
    SHA.test(m.sha)
  );
}

function isDeploymentMemo(d: unknown): d is DeploymentMemo {
  if (!isMemo(d)) return false;
  const state = (d as Partial<DeploymentMemo>).state;
  return state === null || DEPLOYMENT_STATES.has(String(state));
}

function isCheckMemo(c: unknown): c is CheckMemo {
  const m = c as Partial<CheckMemo>;
  return isMemo(c) && typeof m.done === "boolean" && typeof m.digest === "string";
}

/** The keys in the order they are written, whatever order a job set them in (same state, same line). */
const META_KEYS: readonly (keyof CommentMeta)[] = [
  "approvedSha",
  "awaitingSha",
  "destroyedSha",
  "commandTimes",
  "deployments",
  "checks",
];

/** `body` (prenv's comment) with its hidden state replaced by `meta`, everything else as it was. */
export function withMeta(body: string, meta: CommentMeta): string {
  const lines = body.split("\n").filter((l) => !(l.startsWith(META_PREFIX) && l.endsWith(" -->")));
  const rest = lines.join("\n");
  const line = metaLine(meta);
  return line ? rest.replace(`${COMMENT_MARKER}\n`, `${COMMENT_MARKER}\n${line}`) : rest;
}

function metaLine(meta: CommentMeta): string {
  const ordered = Object.fromEntries(META_KEYS.filter((k) => meta[k] !== undefined).map((k) => [k, meta[k]]));
  return Object.keys(ordered).length === 0 ? "" : `${META_PREFIX}${JSON.stringify(ordered)} -->\n`;
}

export type ReportKind =
  | "deploying"
  | "ready"
  | "failed"
  | "manifest-invalid"
  | "invalid-config"
  | "waiting-checks"
  | "checks-failed"
  | "deleted"
  | "skipped"
  | "destroyed"
  | "awaiting-approval"
  | "queued"
  | "error";

export interface Report {
  kind: ReportKind;
  /** Full head SHA the report is about (null for reports not tied to a commit). */
  sha: string | null;
  url: string | null;
  namespace: string | null;
  expiresAt: Date | null;
  /** Plain text from prenv, escaped when rendered. */
  detail: string | null;
  /** Trusted, pre-formatted markdown (e.g. the config problem list). */
  detailMarkdown: string | null;
  /** Untrusted lines (e.g. manifest errors), escaped when rendered. */
  problems: string[];
  failure: FailureReport | null;
  /** Hidden state carried in the comment (see CommentMeta). */
  meta?: CommentMeta;
  /** Shown in the state row after the state, e.g. "asleep since ...". */
  note?: string | null;
  /** Cost estimate, e.g. "~1.23 USD/day (0.5 CPU, 1 GiB requested)". */
  cost?: string | null;
  /** How to get a kubeconfig from prenv; null or absent when the endpoint is not published. */
  access?: AccessInstructions | null;
  /** The virtual cluster's API URL (vcluster mode). */
  virtualApi?: string | null;
}

export interface CommentVars {
  marker: string;
  headline: string;
  stateText: string;
  url: string | null;
  shortSha: string | null;
  namespace: string | null;
  expiresAt: string | null;
  detail: string | null;
  detailMarkdown: string | null;
  problems: string[];
  failure: FailureReport | null;
  access: AccessInstructions | null;
  accessNote: string | null;
  virtualApi: string | null;
  cost: string | null;
  commands: { usage: string; description: string }[];
}

const HEADLINES: Record<ReportKind, [headline: string, state: string]> = {
  deploying: ["⏳ Preview environment: deploying", "Deploying"],
  ready: ["✅ Preview environment: ready", "Ready"],
  failed: ["❌ Preview environment: deployment failed", "Failed"],
  "manifest-invalid": ["❌ Preview environment: manifests refused", "Not deployed: manifests refused"],
  "invalid-config": [
    "⚠️ Preview environment: invalid configuration",
    "Not deployed: invalid .github/prenv.yml",
  ],
  "waiting-checks": ["⏳ Preview environment: waiting for checks", "Waiting for checks"],
  "checks-failed": ["❌ Preview environment: required checks failed", "Not deployed: checks failed"],
  deleted: ["🧹 Preview environment: deleted", "Deleted"],
  skipped: ["⏸️ Preview environment: not deployed", "Not deployed"],
  error: ["🛑 Preview environment: prenv could not process this pull request", "Error"],
  destroyed: ["🧹 Preview environment: destroyed", "Destroyed by /env destroy"],
  "awaiting-approval": ["🔒 Preview environment: waiting for approval", "Waiting for approval"],
  queued: ["⏳ Preview environment: queued", "Queued: the environment limit is reached"],
};

/** Where the kubeconfig endpoint is not published (PRENV_PUBLIC_URL unset). */
export const ACCESS_TEXT =
  "ask your platform team for a kubeconfig scoped to this environment (self-service access is not enabled in this installation). " +
  "prenv never posts credentials in comments.";

export function compileComment(source: string): TemplateFn<CommentVars> {
  return compileTemplate<CommentVars>("comment.md.hbs", source, [
    "marker",
    "headline",
    "stateText",
    "url",
    "shortSha",
    "namespace",
    "expiresAt",
    "detail",
    "detailMarkdown",
    "problems",
    "failure",
    "access",
    "accessNote",
    "virtualApi",
    "cost",
    "commands",
  ]);
}

/** What a live environment's comment shows beyond the state: where, until when, at what cost. */
function liveFields(r: Report) {
  const live = r.kind === "ready" || r.kind === "deploying" || r.kind === "failed";
  if (!live) {
    return { namespace: null, expiresAt: null, access: null, accessNote: null, virtualApi: null, cost: null };
  }
  return {
    namespace: r.namespace,
    expiresAt: r.expiresAt ? isoSeconds(r.expiresAt) : null,
    access: r.access ?? null,
    accessNote: r.access ? null : ACCESS_TEXT,
    virtualApi: r.virtualApi ?? null,
    cost: r.cost ?? null,
  };
}

export function renderComment(template: TemplateFn<CommentVars>, r: Report): string {
  const [headline, stateText] = HEADLINES[r.kind];
  const failure = r.failure && (r.failure.pods.length > 0 || r.failure.events.length > 0) ? r.failure : null;
  const body = template({
    marker: COMMENT_MARKER,
    headline,
    stateText: r.note ? `${stateText} (${r.note})` : stateText,
    url: r.kind === "ready" ? r.url : null,
    shortSha: r.sha ? r.sha.slice(0, 7) : null,
    ...liveFields(r),
    detail: r.detail,
    detailMarkdown: r.detailMarkdown,
    problems: r.problems,
    failure,
    commands: [],
  });
  const tidy = body.replace(/\n{3,}/g, "\n\n");
  const meta = metaLine(r.meta ?? {});
  return meta ? tidy.replace(`${COMMENT_MARKER}\n`, `${COMMENT_MARKER}\n${meta}`) : tidy;
}
