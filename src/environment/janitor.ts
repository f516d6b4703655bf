// The janitor: a scheduled pass over every environment on the host, so a missed webhook leaves
// nothing behind. Environments come from the cluster (paginated by label); GitHub is asked once per
// repository for its open pull requests, not once per environment. Environments whose PR is closed
// or whose lifetime is over get a reconcile job (which tears them down and updates the PR);
// environments whose repository is gone or no longer has the App are deleted directly.
import type { ReconcileJob } from "../jobs/job.js";
import { costPerDay, decodeRequests, type Prices } from "./cost.js";
import { expired } from "./lifetime.js";
import type { Clock, EnvironmentRecord, Logger } from "./ports.js";
import { identityProblem, readRecord, type EnvironmentView } from "./record.js";
import { repairDue } from "./repair.js";
import { sleepDue } from "./sleep.js";

export interface JanitorDeps {
  listEnvironments(): Promise<EnvironmentRecord[]>;
  /**
   * Open PR numbers of a repository and its id (null when it has no open PR to tell it by), or null
   * when GitHub says the repository or installation is gone (404). Throws when GitHub did not answer.
   */
  openPulls(
    installationId: number,
    owner: string,
    repo: string,
  ): Promise<{ repoId: number | null; open: Set<number> } | null>;
  enqueue(job: ReconcileJob): Promise<void>;
  clock: Clock;
  log: Logger;
  prices: Prices;
  /** The operator's rollout timeout: a rollout still in progress after it (its follow-ups lost) gets a reconcile. */
  rolloutTimeoutMs?: number;
}

export interface JanitorReport {
  environments: number;
  repositories: number;
  reconciled: { namespace: string; reason: string }[];
  /** Purge jobs asked for: the job deletes the environment if GitHub still says so. */
  deleted: { namespace: string; reason: string }[];
  skipped: { namespace: string; reason: string }[];
  /** Per repository: environments and their estimated cost per day (from requested CPU and memory). */
  cost: Record<string, { environments: number; perDay: number }>;
  currency: string;
  /** Compute not used while asleep, over the current sleep of each sleeping environment. */
  saved: { asleep: number; cpuHours: number; memoryGiBHours: number };
}

interface Parsed {
  env: EnvironmentRecord;
  view: EnvironmentView;
  owner: string;
  repo: string;
  /** The repository id recorded on the namespace. */
  repoId: number;
  pr: number;
  installationId: number;
}

function parse(env: EnvironmentRecord): Parsed | string {
  const view = readRecord(env);
  const problem = identityProblem(view);
  if (problem || !view.repository || !view.owner || view.installationId === null) {
    return problem ?? "the namespace's identity is incomplete";
  }
  const { owner, repo } = view.repository;
  return {
    env,
    view,
    owner,
    repo,
    repoId: view.owner.repoId,
    pr: view.owner.pr,
    installationId: view.installationId,
  };
}

/** Every environment, by repository; the others are counted, skipped and said why. */
async function byRepository(deps: JanitorDeps, report: JanitorReport): Promise<Map<string, Parsed[]>> {
  const byRepo = new Map<string, Parsed[]>();
  const now = deps.clock.now().getTime();
  for (const env of await deps.listEnvironments()) {
    report.environments++;
    const p = env.phase === "Terminating" ? terminatingReason(env, now) : parse(env);
    if (typeof p === "string") {
      report.skipped.push({ namespace: env.name, reason: p });
      continue;
    }
    const key = `${p.installationId}:${p.owner}/${p.repo}`.toLowerCase();
    addCost(report, p, deps.prices);
    addSaved(report, p.view, now);
    byRepo.set(key, [...(byRepo.get(key) ?? []), p]);
  }
  return byRepo;
}

/** One look at GitHub for the repository, then one job per environment that needs one. */
async function sweepRepository(deps: JanitorDeps, envs: Parsed[], report: JanitorReport): Promise<void> {
  const first = envs[0]!;
  let pulls: Awaited<ReturnType<JanitorDeps["openPulls"]>>;
  try {
    pulls = await deps.openPulls(first.installationId, first.owner, first.repo);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    const reason = `GitHub did not list the open pull requests of ${first.owner}/${first.repo} (${why}); left for the next pass`;
    for (const p of envs) report.skipped.push({ namespace: p.env.name, reason });
    return;
  }
  const now = deps.clock.now();
  const minute = Math.floor(now.getTime() / 60_000);
  for (const p of envs) {
    const job = {
      installationId: p.installationId,
      owner: p.owner,
      repo: p.repo,
      repoId: p.repoId,
      number: p.pr,
      delivery: `janitor:${p.env.name}:${minute}`,
    };
    const gone = goneReason(p, pulls);
    if (gone) {
      await deps.enqueue({ ...job, purge: true, reason: `janitor: ${gone}` });
      report.deleted.push({ namespace: p.env.name, reason: gone });
      continue;
    }
    const reason = reasonFor(p, pulls!.open, now, deps.rolloutTimeoutMs ?? 3_600_000);
    if (!reason) continue;
    await deps.enqueue({ ...job, reason: `janitor: ${reason}` });
    report.reconciled.push({ namespace: p.env.name, reason });
  }
}

/** Why the environment's repository looks gone (purged in the PR's queue group), or null. */
function goneReason(p: Parsed, pulls: { repoId: number | null } | null): string | null {
  if (pulls === null) return "repository gone or App uninstalled";
  // The name now belongs to another repository (the one recorded was deleted or renamed away).
  if (pulls.repoId !== null && pulls.repoId !== p.repoId) {
    return `repository ${p.owner}/${p.repo} is now another repository (id ${pulls.repoId}, recorded ${p.repoId})`;
  }
  return null;
}

/** Deletion that has not finished after STUCK_AFTER_MS is reported as stuck, with what blocks it. */
export const STUCK_AFTER_MS = 10 * 60_000;

function terminatingReason(env: EnvironmentRecord, now: number): string {
  const since = Date.parse(env.deleting?.since ?? "");
  if (Number.isNaN(since) || now - since < STUCK_AFTER_MS) return "already terminating";
  const minutes = Math.round((now - since) / 60_000);
  const blocked = env.deleting?.blockedBy.length ? `: ${env.deleting.blockedBy.join("; ")}` : "";
  return `STUCK: terminating for ${minutes} min${blocked}. An operator must remove what blocks deletion (often a finalizer whose controller is gone).`;
}

/** Longer than any follow-up takes to come back after a rollout's timeout. */
const ROLLOUT_GRACE_MS = 5 * 60_000;

/** Still `rolling-out` well after its timeout: the follow-ups that would have said so were lost. */
function rolloutOverdue(view: Parsed["view"], now: Date, rolloutTimeoutMs: number): boolean {
  if (view.state?.phase !== "rolling-out") return false;
  return now.getTime() > (view.state.rolloutSince?.getTime() ?? 0) + rolloutTimeoutMs + ROLLOUT_GRACE_MS;
}

/** Why this environment needs a reconcile now, most urgent first; null when it does not. */
function reasonFor(p: Parsed, open: Set<number>, now: Date, rolloutTimeoutMs: number): string | null {
  const { view } = p;
  if (!open.has(p.pr)) return "pull request closed";
  if (expired(view, now)) return "expired";
  if (rolloutOverdue(view, now, rolloutTimeoutMs)) return "rollout not finished after its timeout";
  // A job gave up, or was cut short on its last attempt: GitHub's view (or the deploy) may be half done.
  if (view.unsettledSince) return "a job did not finish";
  // A deploy in progress (the job runs after it, and finds it converged) or cut short.
  if (view.state?.phase === "deploying") return "deploying";
  if (view.queued) return "queued: checking capacity";
  if (view.warnAt && view.warnAt.getTime() <= now.getTime()) return "expiry warning due";
  const sleep = view.sleep.policy ? sleepDue(view, view.sleep.policy, now) : null;
  if (sleep) return `${sleep.action} due`;
  return repairDue(view, now) ? "repair due" : null;
}

function addCost(report: JanitorReport, p: Parsed, prices: Prices): void {
  const repoCost = (report.cost[`${p.owner}/${p.repo}`] ??= { environments: 0, perDay: 0 });
  const requests = decodeRequests(p.view.state?.requests);
  repoCost.environments++;
  repoCost.perDay = Math.round((repoCost.perDay + (requests ? costPerDay(requests, prices) : 0)) * 100) / 100;
}

function addSaved(report: JanitorReport, view: EnvironmentView, now: number): void {
  if (!view.sleep.sleeping) return;
  report.saved.asleep++;
  const requests = decodeRequests(view.state?.requests);
  const since = Date.parse(view.sleep.since ?? "");
  if (!requests || Number.isNaN(since)) return;
  const hours = Math.max(0, now - since) / 3_600_000;
  report.saved.cpuHours = Math.round((report.saved.cpuHours + hours * requests.cpu) * 100) / 100;
  report.saved.memoryGiBHours =
    Math.round((report.saved.memoryGiBHours + hours * requests.memoryGiB) * 100) / 100;
}

export async function sweep(deps: JanitorDeps): Promise<JanitorReport> {
  const report: JanitorReport = {
    environments: 0,
    repositories: 0,
    reconciled: [],
    deleted: [],
    skipped: [],
    cost: {},
    currency: deps.prices.currency,
    saved: { asleep: 0, cpuHours: 0, memoryGiBHours: 0 },
  };
  const byRepo = await byRepository(deps, report);
  report.repositories = byRepo.size;
  for (const envs of byRepo.values()) await sweepRepository(deps, envs, report);
  deps.log.info(
    {
      ...report,
      reconciled: report.reconciled.length,
      deleted: report.deleted.length,
      skipped: report.skipped.length,
    },
    "janitor pass",
  );
  return report;
}
