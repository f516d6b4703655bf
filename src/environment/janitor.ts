// The janitor: a scheduled pass over every environment on the host, so a missed webhook leaves
// nothing behind. Environments come from the cluster (paginated by label); GitHub is asked once per
// repository for its open pull requests, not once per environment. Environments whose PR is closed
// or whose lifetime is over get a reconcile job (which tears them down and updates the PR);
// environments whose repository is gone or no longer has the App are deleted directly.
import type { ReconcileJob } from "../runtime/jobs.js";
import type { Clock, EnvironmentRecord, Logger } from "./ports.js";
import { isQueued } from "./capacity.js";
import { costPerDay, decodeRequests, type Prices } from "./cost.js";
import { decodePolicy, sleepDecision, type SleepReason } from "./sleep.js";
import {
  CHECKED_AT,
  IDENTITY,
  ownerOf,
  LAST_ACTIVITY,
  REPAIR_EVERY_MS,
  SLEEP,
  STATE,
  WARN_AT,
  WARNED,
} from "./state.js";

export interface JanitorDeps {
  listEnvironments(): Promise<EnvironmentRecord[]>;
  /**
   * Open PR numbers of a repository and its id (null when it has no open PR to tell it by), or null
   * when the repository or installation is gone.
   */
  openPulls(
    installationId: number,
    owner: string,
    repo: string,
  ): Promise<{ repoId: number | null; open: Set<number> } | null>;
  enqueue(job: ReconcileJob): Promise<void>;
  deleteNamespace(name: string): Promise<void>;
  clock: Clock;
  log: Logger;
  prices: Prices;
}

export interface JanitorReport {
  environments: number;
  repositories: number;
  reconciled: { namespace: string; reason: string }[];
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
  owner: string;
  repo: string;
  /** The repository id recorded on the namespace. */
  repoId: number;
  pr: number;
  installationId: number;
  expiresAt: number;
  /** When an expiry warning is due, unless one was posted for this expiry already. */
  warnAt: number;
}

function parse(env: EnvironmentRecord): Parsed | string {
  const a = env.annotations;
  const [owner, repo, ...rest] = (a[IDENTITY.repository] ?? "").split("/");
  const pr = Number(a[IDENTITY.pr]);
  const installationId = Number(a[IDENTITY.installation]);
  const recorded = ownerOf(env);
  if (!owner || !repo || rest.length > 0 || !Number.isInteger(pr) || !Number.isInteger(installationId)) {
    return "annotations prenv.dev/repository, prenv.dev/pr or prenv.dev/installation are missing or malformed";
  }
  if (!recorded || recorded.pr !== pr) {
    return "labels prenv.dev/repo-id or prenv.dev/pr are missing or do not match the annotations";
  }
  const expiresAt = Date.parse(a[IDENTITY.expiresAt] ?? "");
  const warned = a[WARNED] !== undefined && a[WARNED] === a[IDENTITY.expiresAt];
  const warnAt = warned ? Infinity : Date.parse(a[WARN_AT] ?? "");
  return {
    env,
    owner,
    repo,
    repoId: recorded.repoId,
    pr,
    installationId,
    expiresAt: Number.isNaN(expiresAt) ? Infinity : expiresAt,
    warnAt: Number.isNaN(warnAt) ? Infinity : warnAt,
  };
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

/** Why this environment needs a reconcile now, most urgent first; null when it does not. */
function reasonFor(p: Parsed, open: Set<number>, now: number): string | null {
  if (!open.has(p.pr)) return "pull request closed";
  if (p.expiresAt <= now) return "expired";
  if (isQueued(p.env)) return "queued: checking capacity";
  if (p.warnAt <= now) return "expiry warning due";
  return sleepDue(p.env, new Date(now)) ?? repairDue(p.env, now);
}

function repairDue(env: EnvironmentRecord, now: number): string | null {
  const checked = Date.parse(env.annotations[CHECKED_AT] ?? "");
  return Number.isNaN(checked) || now - checked >= REPAIR_EVERY_MS ? "repair due" : null;
}

function addSaved(
  report: JanitorReport,
  env: EnvironmentRecord,
  requests: { cpu: number; memoryGiB: number } | null,
  now: number,
): void {
  if (env.annotations[SLEEP.sleeping] !== "true") return;
  report.saved.asleep++;
  const since = Date.parse(env.annotations[SLEEP.since] ?? "");
  if (!requests || Number.isNaN(since)) return;
  const hours = Math.max(0, now - since) / 3_600_000;
  report.saved.cpuHours = Math.round((report.saved.cpuHours + hours * requests.cpu) * 100) / 100;
  report.saved.memoryGiBHours =
    Math.round((report.saved.memoryGiBHours + hours * requests.memoryGiB) * 100) / 100;
}

/** "sleep due" / "wake due" from the sleep settings recorded on the namespace. */
function sleepDue(env: EnvironmentRecord, now: Date): string | null {
  const policy = decodePolicy(env.annotations[SLEEP.policy]);
  if (!policy) return null;
  const a = env.annotations;
  const last = Date.parse(a[LAST_ACTIVITY] ?? a[IDENTITY.createdAt] ?? "");
  const decision = sleepDecision(
    policy,
    {
      sleeping: a[SLEEP.sleeping] === "true",
      reason: (a[SLEEP.reason] as SleepReason | undefined) ?? null,
      lastActivity: Number.isNaN(last) ? null : last,
    },
    now,
  );
  return decision ? `${decision.action} due` : null;
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
  const byRepo = new Map<string, Parsed[]>();
  for (const env of await deps.listEnvironments()) {
    report.environments++;
    if (env.phase === "Terminating") {
      report.skipped.push({
        namespace: env.name,
        reason: terminatingReason(env, deps.clock.now().getTime()),
      });
      continue;
    }
    const p = parse(env);
    if (typeof p === "string") {
      report.skipped.push({ namespace: env.name, reason: p });
      continue;
    }
    const key = `${p.installationId}:${p.owner}/${p.repo}`.toLowerCase();
    const repoCost = (report.cost[`${p.owner}/${p.repo}`] ??= { environments: 0, perDay: 0 });
    const requests = decodeRequests(env.annotations[STATE.requests]);
    repoCost.environments++;
    addSaved(report, env, requests, deps.clock.now().getTime());
    repoCost.perDay =
      Math.round((repoCost.perDay + (requests ? costPerDay(requests, deps.prices) : 0)) * 100) / 100;
    byRepo.set(key, [...(byRepo.get(key) ?? []), p]);
  }
  report.repositories = byRepo.size;
  const now = deps.clock.now().getTime();
  const minute = Math.floor(now / 60_000);
  for (const envs of byRepo.values()) {
    const first = envs[0]!;
    const pulls = await deps.openPulls(first.installationId, first.owner, first.repo);
    for (const p of envs) {
      // The name now belongs to another repository (the one recorded was deleted or renamed away).
      const replaced = pulls !== null && pulls.repoId !== null && pulls.repoId !== p.repoId;
      if (pulls === null || replaced) {
        await deps.deleteNamespace(p.env.name);
        report.deleted.push({
          namespace: p.env.name,
          reason: replaced
            ? `repository ${p.owner}/${p.repo} is now another repository (id ${pulls.repoId}, recorded ${p.repoId})`
            : "repository gone or App uninstalled",
        });
        continue;
      }
      const reason = reasonFor(p, pulls.open, now);
      if (!reason) continue;
      await deps.enqueue({
        installationId: p.installationId,
        owner: p.owner,
        repo: p.repo,
        repoId: p.repoId,
        number: p.pr,
        reason: `janitor: ${reason}`,
        delivery: `janitor:${p.env.name}:${minute}`,
      });
      report.reconciled.push({ namespace: p.env.name, reason });
    }
  }
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
