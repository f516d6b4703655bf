// Puts a report on GitHub: the one PR comment, the GitHub Deployment of the environment, and the
// check run on the head commit. Idempotent: what already says the same is not written.
//
// The comment remembers, in its hidden state, the Deployments prenv made and the state it gave
// each, and its check runs (comment.ts, CommentMeta), so a report names them without listing
// Deployments, reading their statuses or looking check runs up. The comment is written last: a
// comment that already says a report, hidden state included, means the Deployment and the check
// run say it too, and nothing is written.
//
// A job can end in the middle of a deploy (killed, timed out, out of attempts) and the PR move on
// to another commit before the next job. The Deployment is written before the check run, and both
// before the comment: a Deployment the comment remembers in progress for another commit is
// finished, with its check run, as superseded by the next deploy. One a job made but could not
// record (it ended before its comment was written) is looked for by the jobs that may meet it: a
// job's next attempt (a redelivered message, a local retry, the report that prenv gave up) and the
// rollout's follow-ups. When the comment does not remember the head's Deployment, they list the
// environment's Deployments once before writing and take over what they find (the head's, and
// unfinished ones of other commits, with their check runs) instead of making second ones. A
// deploy's first attempt never lists. Deleting the environment lists them too.
import { createHash } from "node:crypto";
import type { CheckRunReport, DeploymentState, DeploymentView, GitHubPort } from "../environment/ports.js";
import type { TemplateFn } from "../templates/engine.js";
import {
  COMMENT_MARKER,
  MEMORY,
  renderComment,
  withMeta,
  type CheckMemo,
  type CommentMeta,
  type CommentVars,
  type DeploymentMemo,
  type Report,
  type ReportKind,
} from "./comment.js";

export interface PublishDeps {
  github: GitHubPort;
  comment: TemplateFn<CommentVars>;
  checkName: string;
  /** Deployment environment name, `pr-<n>`. */
  environment: string;
  /**
   * Set when an earlier job may have written to GitHub without recording it (this job's failed
   * attempts; the deploy a follow-up continues): the first report that would otherwise create the
   * head's Deployment looks for what it left, then clears it.
   */
  unrecorded?: { look: boolean };
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

/** What the comment remembers, changed as this report writes (then written with the comment). */
class Memory {
  deployments: DeploymentMemo[];
  checks: CheckMemo[];
  constructor(private readonly meta: CommentMeta) {
    this.deployments = [...(meta.deployments ?? [])];
    this.checks = [...(meta.checks ?? [])];
  }
  deployment(sha: string): DeploymentMemo | undefined {
    return this.deployments.findLast((d) => d.sha === sha);
  }
  setDeployment(d: DeploymentMemo): void {
    this.deployments = [...this.deployments.filter((x) => x.id !== d.id), d].slice(-MEMORY);
  }
  forgetDeployment(id: number): void {
    this.deployments = this.deployments.filter((x) => x.id !== id);
  }
  check(sha: string): CheckMemo | undefined {
    return this.checks.find((c) => c.sha === sha);
  }
  setCheck(c: CheckMemo): void {
    this.checks = [...this.checks.filter((x) => x.sha !== c.sha), c].slice(-MEMORY);
  }
  toMeta(): CommentMeta {
    const out: CommentMeta = { ...this.meta };
    delete out.deployments;
    delete out.checks;
    if (this.deployments.length > 0) out.deployments = this.deployments;
    if (this.checks.length > 0) out.checks = this.checks;
    return out;
  }
}

/** prenv's check run on `sha`, if it is still in progress: completed as cancelled, saying why. */
async function finishCheckRun(deps: PublishDeps, memory: Memory, sha: string, why: string): Promise<void> {
  const known = memory.check(sha);
  let id = known?.id;
  if (!known) {
    const run = await deps.github.findCheckRun(sha, deps.checkName);
    if (!run || run.status === "completed") return;
    id = run.id;
  } else if (known.done) return;
  const report: CheckRunReport = {
    status: "completed",
    conclusion: "cancelled",
    title: "Preview deployment stopped",
    summary: `prenv stopped deploying this commit. ${why}`,
  };
  await deps.github.updateCheckRun(id!, report);
  memory.setCheck({ sha, id: id!, done: true, digest: digest(report) });
}

const DEPLOYMENT_STATES: Partial<Record<ReportKind, DeploymentState>> = {
  deploying: "in_progress",
  ready: "success",
  failed: "failure",
};

/** Writes the report; returns the comment's hidden state as written (what it now remembers). */
export async function publish(report: Report, deps: PublishDeps): Promise<CommentMeta> {
  const meta = report.meta ?? {};
  const existing = await deps.github.findComment(COMMENT_MARKER);
  if (existing && existing.body === renderComment(deps.comment, { ...report, meta })) return meta;
  const memory = new Memory(meta);
  if (deps.unrecorded?.look && report.sha && !memory.deployment(report.sha)) {
    await adoptUnrecorded(deps, memory, report.sha);
    deps.unrecorded.look = false;
  }
  const created = await updateDeployment(deps, memory, report);
  if (report.sha) await upsertCheckRun(deps, memory, report, created);
  const written = memory.toMeta();
  await upsertComment(
    deps.github,
    existing,
    renderComment(deps.comment, { ...report, meta: written }),
    report.kind,
  );
  return written;
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

async function upsertComment(
  github: GitHubPort,
  existing: { id: number; body: string } | null,
  body: string,
  kind: ReportKind,
): Promise<void> {
  if (existing) {
    if (existing.body !== body) await github.updateComment(existing.id, body);
    return;
  }
  // A PR that never had an environment is not told it is deleted or filtered out.
  if (kind === "deleted" || kind === "skipped" || kind === "destroyed") return;
  await github.createComment(body);
}

function digest(r: CheckRunReport): string {
  return createHash("sha256").update(JSON.stringify(r)).digest("hex").slice(0, 12);
}

/**
 * The head's check run says the report. It is looked up on GitHub only when the comment does not
 * remember it and this report did not just create the commit's Deployment (then it is new too).
 */
async function upsertCheckRun(
  deps: PublishDeps,
  memory: Memory,
  report: Report,
  fresh: boolean,
): Promise<void> {
  const check = CHECKS[report.kind];
  if (!check || !report.sha) return;
  const sha = report.sha;
  const summary = renderComment(deps.comment, { ...report, meta: {} })
    .split("\n")
    .filter((l) => !l.startsWith("<!-- prenv:"))
    .join("\n")
    .trim();
  const wanted: CheckRunReport = {
    ...check,
    summary,
    ...(report.url && report.kind === "ready" ? { detailsUrl: report.url } : {}),
  };
  const remember = (id: number) =>
    memory.setCheck({ sha, id, done: wanted.status === "completed", digest: digest(wanted) });
  const known = memory.check(sha);
  if (known) {
    if (known.digest === digest(wanted)) return;
    await deps.github.updateCheckRun(known.id, wanted);
    return remember(known.id);
  }
  const existing = fresh ? null : await deps.github.findCheckRun(sha, deps.checkName);
  if (!existing) return remember(await deps.github.createCheckRun(sha, deps.checkName, wanted));
  await deps.github.updateCheckRun(existing.id, wanted);
  remember(existing.id);
}

const UNFINISHED = new Set<DeploymentView["state"]>(["in_progress", "queued", "pending"]);

/** The environment's Deployment says the report; true when this report created the head's Deployment. */
async function updateDeployment(deps: PublishDeps, memory: Memory, report: Report): Promise<boolean> {
  if (report.kind === "deleted" || report.kind === "destroyed") {
    await deactivate(deps, memory);
    return false;
  }
  const ended = ENDED[report.kind];
  if (ended) {
    if (report.sha) await endUnfinished(deps, memory, report.sha, ended);
    return false;
  }
  const state = DEPLOYMENT_STATES[report.kind];
  if (!state || !report.sha) return false;
  const { github, environment } = deps;
  await supersede(deps, memory, report.sha);
  const create = () => github.createDeployment(report.sha!, environment, `Preview of PR ${environment}`);
  const setState = (id: number) =>
    github.setDeploymentStatus(id, state, {
      description: {
        in_progress: "Deploying",
        success: "Ready",
        failure: "Failed",
        error: "Error",
        inactive: "Deleted",
      }[state],
      ...(state === "success" && report.url ? { environmentUrl: report.url } : {}),
    });
  const known = memory.deployment(report.sha);
  let deployment = known ?? (await create());
  if (deployment.state !== state && (await setState(deployment.id)) === "gone") {
    // The remembered Deployment was deleted on GitHub: a new one says the report.
    memory.forgetDeployment(deployment.id);
    deployment = await create();
    await setState(deployment.id);
  }
  memory.setDeployment({ id: deployment.id, sha: report.sha, state });
  return !known;
}

/**
 * The environment is gone: every Deployment inactive, and check runs still in progress ended. The
 * Deployments are listed on GitHub (one a job could not record is found too); the states the
 * comment remembers are not read again.
 */
async function deactivate(deps: PublishDeps, memory: Memory): Promise<void> {
  for (const { id, sha } of await deps.github.listDeployments(deps.environment)) {
    const known = memory.deployments.find((d) => d.id === id);
    const state = known ? known.state : await deps.github.deploymentState(id);
    if (UNFINISHED.has(state)) await finishCheckRun(deps, memory, sha, "The environment was deleted.");
    if (state !== "inactive") {
      await deps.github.setDeploymentStatus(id, "inactive", { description: "Preview environment deleted" });
    }
    if (known) memory.setDeployment({ ...known, state: "inactive" });
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
  memory: Memory,
  sha: string,
  end: { state: DeploymentState; description: string },
): Promise<void> {
  const d = memory.deployment(sha);
  if (!d || !UNFINISHED.has(d.state)) return;
  await deps.github.setDeploymentStatus(d.id, end.state, { description: end.description });
  memory.setDeployment({ ...d, state: end.state });
}

/** Deployments of other commits that a cut-short job left in progress: superseded by `sha`. */
async function supersede(deps: PublishDeps, memory: Memory, sha: string): Promise<void> {
  for (const d of memory.deployments) {
    if (d.sha === sha || !UNFINISHED.has(d.state)) continue;
    const why = `The pull request moved on to ${sha.slice(0, 7)} before this commit's deployment finished.`;
    await finishCheckRun(deps, memory, d.sha, why);
    await deps.github.setDeploymentStatus(d.id, "inactive", { description: "Superseded" });
    memory.setDeployment({ ...d, state: "inactive" });
  }
}

/**
 * What an earlier job wrote but could not record: Deployments of the environment the comment does
 * not remember, the head's (unless inactive) and other commits' still unfinished (one without a
 * status counts as pending), and their check runs. They are remembered as they are, so that this
 * report updates them (the head's) or supersedes them (another commit's) instead of leaving them
 * in progress beside new ones.
 */
async function adoptUnrecorded(deps: PublishDeps, memory: Memory, head: string): Promise<void> {
  const known = new Set(memory.deployments.map((d) => d.id));
  // Newest first: the head's newest Deployment is the one taken over.
  for (const { id, sha } of await deps.github.listDeployments(deps.environment)) {
    if (known.has(id) || (sha === head && memory.deployment(head))) continue;
    const state = (await deps.github.deploymentState(id)) ?? "pending";
    if (sha === head ? state === "inactive" : !UNFINISHED.has(state)) continue;
    memory.setDeployment({ id, sha, state });
    if (memory.check(sha)) continue;
    const run = await deps.github.findCheckRun(sha, deps.checkName);
    // An empty digest never matches: the report writes the check run it found.
    if (run) memory.setCheck({ sha, id: run.id, done: run.status === "completed", digest: "" });
  }
}
