// Puts a report on GitHub: the one PR comment, the check run on the head commit, and the
// GitHub Deployment of the environment. Idempotent: what already says the same is not written.
import type { CheckRunReport, DeploymentState, GitHubPort } from "../environment/ports.js";
import type { TemplateFn } from "../templates/engine.js";
import { COMMENT_MARKER, renderComment, type CommentVars, type Report, type ReportKind } from "./comment.js";

export interface PublishDeps {
  github: GitHubPort;
  comment: TemplateFn<CommentVars>;
  checkName: string;
  /** Deployment environment name, `pr-<n>`. */
  environment: string;
}

const CHECKS: Partial<Record<ReportKind, Omit<CheckRunReport, "summary">>> = {
  deploying: { status: "in_progress", title: "Deploying the preview environment" },
  "waiting-checks": { status: "in_progress", title: "Waiting for required checks" },
  ready: { status: "completed", conclusion: "success", title: "Preview environment ready" },
  failed: { status: "completed", conclusion: "failure", title: "Preview deployment failed" },
  "manifest-invalid": { status: "completed", conclusion: "failure", title: "Preview manifests refused" },
  "invalid-config": { status: "completed", conclusion: "failure", title: "Invalid .github/prenv.yml" },
  "checks-failed": { status: "completed", conclusion: "failure", title: "Required checks failed" },
  "awaiting-approval": { status: "completed", conclusion: "neutral", title: "Waiting for /env deploy" },
};

const DEPLOYMENT_STATES: Partial<Record<ReportKind, DeploymentState>> = {
  deploying: "in_progress",
  ready: "success",
  failed: "failure",
};

export async function publish(report: Report, deps: PublishDeps): Promise<void> {
  const body = renderComment(deps.comment, report);
  await upsertComment(deps.github, body, report.kind);
  if (report.sha) await upsertCheckRun(deps, report.sha, report, body);
  await updateDeployment(deps, report);
}

async function upsertComment(github: GitHubPort, body: string, kind: ReportKind): Promise<void> {
  const existing = await github.findComment(COMMENT_MARKER);
  if (existing) {
    if (existing.body !== body) await github.updateComment(existing.id, body);
    return;
  }
  // A PR that never had an environment is not told it is deleted or filtered out.
  if (kind === "deleted" || kind === "skipped" || kind === "destroyed") return;
  await github.createComment(body);
}

async function upsertCheckRun(deps: PublishDeps, sha: string, report: Report, body: string): Promise<void> {
  const check = CHECKS[report.kind];
  if (!check) return;
  const summary = body
    .split("\n")
    .filter((l) => !l.startsWith("<!-- prenv:"))
    .join("\n")
    .trim();
  const wanted: CheckRunReport = {
    ...check,
    summary,
    ...(report.url && report.kind === "ready" ? { detailsUrl: report.url } : {}),
  };
  const existing = await deps.github.findCheckRun(sha, deps.checkName);
  if (!existing) return deps.github.createCheckRun(sha, deps.checkName, wanted);
  const same =
    existing.status === wanted.status &&
    (existing.conclusion ?? undefined) === wanted.conclusion &&
    existing.title === wanted.title &&
    existing.summary === wanted.summary;
  if (!same) await deps.github.updateCheckRun(existing.id, wanted);
}

async function updateDeployment(deps: PublishDeps, report: Report): Promise<void> {
  const { github, environment } = deps;
  if (report.kind === "deleted" || report.kind === "destroyed") {
    for (const d of await github.listDeployments(environment)) {
      if (d.state !== "inactive") {
        await github.setDeploymentStatus(d.id, "inactive", { description: "Preview environment deleted" });
      }
    }
    return;
  }
  const state = DEPLOYMENT_STATES[report.kind];
  if (!state || !report.sha) return;
  const deployments = await github.listDeployments(environment);
  const deployment =
    deployments.find((d) => d.sha === report.sha) ??
    (await github.createDeployment(report.sha, environment, `Preview of PR ${environment}`));
  if (deployment.state === state) return;
  await github.setDeploymentStatus(deployment.id, state, {
    description: {
      in_progress: "Deploying",
      success: "Ready",
      failure: "Failed",
      error: "Error",
      inactive: "Deleted",
    }[state],
    ...(state === "success" && report.url ? { environmentUrl: report.url } : {}),
  });
}
