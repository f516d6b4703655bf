// Puts a report on GitHub: the one PR comment, the GitHub Deployment of the environment, and the
// check run on the head commit. Idempotent: what already says the same is not written.
//
// A job can end in the middle of a deploy (killed, timed out, out of attempts) and the PR move on
// to another commit before the next job. The Deployment is written before the check run, so every
// commit prenv started deploying has a Deployment; the next report that lists the Deployments
// finishes those left in progress for other commits, and their check runs, as superseded.
import type { CheckRunReport, DeploymentState, DeploymentView, GitHubPort } from "../environment/ports.js";
import type { TemplateFn } from "../templates/engine.js";
import {
  COMMENT_MARKER,
  renderComment,
  withMeta,
  type CommentMeta,
  type CommentVars,
  type Report,
  type ReportKind,
} from "./comment.js";

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
  error: { status: "completed", conclusion: "failure", title: "prenv could not process this pull request" },
};

/** prenv's check run on `sha`, if it is still in progress: completed as cancelled, saying why. */
async function finishCheckRun(deps: PublishDeps, sha: string, why: string): Promise<void> {
  const run = await deps.github.findCheckRun(sha, deps.checkName);
  if (!run || run.status === "completed") return;
  await deps.github.updateCheckRun(run.id, {
    status: "completed",
    conclusion: "cancelled",
    title: "Preview deployment stopped",
    summary: `prenv stopped deploying this commit. ${why}`,
  });
}

const DEPLOYMENT_STATES: Partial<Record<ReportKind, DeploymentState>> = {
  deploying: "in_progress",
  ready: "success",
  failed: "failure",
};

export async function publish(report: Report, deps: PublishDeps): Promise<void> {
  const body = renderComment(deps.comment, report);
  await upsertComment(deps.github, body, report.kind);
  await updateDeployment(deps, report);
  if (report.sha) await upsertCheckRun(deps, report.sha, report, body);
}

/**
 * Keeps what GitHub shows (comment, Deployment, check run) and only brings the comment's hidden
 * state up to date: for an environment whose state did not change, e.g. a failed one put to sleep.
 */
export async function keepReport(meta: CommentMeta, deps: Pick<PublishDeps, "github">): Promise<void> {
  const existing = await deps.github.findComment(COMMENT_MARKER);
  if (!existing) return;
  const body = withMeta(existing.body, meta);
  if (body !== existing.body) await deps.github.updateComment(existing.id, body);
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

const UNFINISHED = new Set<DeploymentView["state"]>(["in_progress", "queued", "pending"]);

async function updateDeployment(deps: PublishDeps, report: Report): Promise<void> {
  if (report.kind === "deleted" || report.kind === "destroyed") return deactivate(deps);
  const ended = ENDED[report.kind];
  if (ended) return report.sha ? endUnfinished(deps, report.sha, ended) : undefined;
  const state = DEPLOYMENT_STATES[report.kind];
  if (!state || !report.sha) return;
  const { github, environment } = deps;
  const deployments = await github.listDeployments(environment);
  await supersede(deps, deployments, report.sha);
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

/** The environment is gone: every Deployment inactive, and check runs still in progress ended. */
async function deactivate(deps: PublishDeps): Promise<void> {
  for (const d of await deps.github.listDeployments(deps.environment)) {
    if (UNFINISHED.has(d.state)) await finishCheckRun(deps, d.sha, "The environment was deleted.");
    if (d.state !== "inactive") {
      await deps.github.setDeploymentStatus(d.id, "inactive", { description: "Preview environment deleted" });
    }
  }
}

/** Reports that end a deploy of the head without deploying it: refused manifests, a job prenv gave up on. */
const ENDED: Partial<Record<ReportKind, { state: DeploymentState; description: string }>> = {
  "manifest-invalid": { state: "failure", description: "Manifests refused" },
  error: { state: "error", description: "prenv gave up" },
};

/** The head's Deployment, if one is in progress, ends (none is created for it). */
async function endUnfinished(
  deps: PublishDeps,
  sha: string,
  end: { state: DeploymentState; description: string },
): Promise<void> {
  for (const d of await deps.github.listDeployments(deps.environment)) {
    if (d.sha === sha && UNFINISHED.has(d.state)) {
      await deps.github.setDeploymentStatus(d.id, end.state, { description: end.description });
    }
  }
}

/** Deployments of other commits that a cut-short job left in progress: superseded by `sha`. */
async function supersede(deps: PublishDeps, deployments: DeploymentView[], sha: string): Promise<void> {
  for (const d of deployments) {
    if (d.sha === sha || !UNFINISHED.has(d.state)) continue;
    const why = `The pull request moved on to ${sha.slice(0, 7)} before this commit's deployment finished.`;
    await finishCheckRun(deps, d.sha, why);
    await deps.github.setDeploymentStatus(d.id, "inactive", { description: "Superseded" });
  }
}
