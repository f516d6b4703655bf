// The PR comment: what it says in each state. Rendered from templates/comment.md.hbs.
import { compileTemplate, type TemplateFn } from "../templates/engine.js";
import type { FailureReport } from "../environment/ports.js";

/** Hidden marker that identifies prenv's one comment on a PR. */
export const COMMENT_MARKER = "<!-- prenv:environment -->";

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
  access: string | null;
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
};

/** How to get kubectl access. Self-service kubeconfigs are not built yet, so this says so. */
export const ACCESS_TEXT =
  "ask your platform team for a kubeconfig scoped to this namespace (self-service access is not enabled in this installation). " +
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
    "commands",
  ]);
}

export function renderComment(template: TemplateFn<CommentVars>, r: Report): string {
  const [headline, stateText] = HEADLINES[r.kind];
  const live = r.kind === "ready" || r.kind === "deploying" || r.kind === "failed";
  const body = template({
    marker: COMMENT_MARKER,
    headline,
    stateText,
    url: r.kind === "ready" ? r.url : null,
    shortSha: r.sha ? r.sha.slice(0, 7) : null,
    namespace: live ? r.namespace : null,
    expiresAt: live && r.expiresAt ? r.expiresAt.toISOString().replace(/\.\d{3}Z$/, "Z") : null,
    detail: r.detail,
    detailMarkdown: r.detailMarkdown,
    problems: r.problems,
    failure: r.failure && (r.failure.pods.length > 0 || r.failure.events.length > 0) ? r.failure : null,
    access: live ? ACCESS_TEXT : null,
    commands: [],
  });
  return body.replace(/\n{3,}/g, "\n\n");
}
