// One janitor pass with the real adapters: shared by the janitor Lambda and the CLI's
// `prenv janitor` (through src/runtime/root/bot.ts) and the tests. What to do with each reconcile
// job is the caller's.
import type { Probot } from "probot";
import { openPullNumbers } from "../adapters/github/repository.js";
import type { KubernetesCluster } from "../adapters/kubernetes/cluster.js";
import type { Prices } from "../environment/cost.js";
import { sweep, type JanitorReport } from "../environment/janitor.js";
import type { EnvironmentRecord, Logger } from "../environment/ports.js";
import type { ReconcileJob } from "../jobs/job.js";

export interface JanitorRun {
  probot: Pick<Probot, "auth">;
  cluster: KubernetesCluster;
  enqueue(job: ReconcileJob): Promise<void>;
  prices: Prices;
  /** The operator's rollout timeout (default: the longest allowed, an hour). */
  rolloutTimeoutMs?: number;
  log: Logger;
  now?: () => Date;
  /** Report what would happen; enqueue and delete nothing. */
  dryRun?: boolean;
  /** Limit the pass to some environments (tests share one cluster). */
  only?: (env: EnvironmentRecord) => boolean;
}

export function runSweep(r: JanitorRun): Promise<JanitorReport> {
  return sweep({
    listEnvironments: async () => (await r.cluster.listEnvironments()).filter(r.only ?? (() => true)),
    openPulls: async (installationId, owner, repo) =>
      openPullNumbers(await r.probot.auth(installationId), owner, repo),
    enqueue: (job) => (r.dryRun ? Promise.resolve() : r.enqueue(job)),
    clock: { now: r.now ?? (() => new Date()) },
    prices: r.prices,
    ...(r.rolloutTimeoutMs ? { rolloutTimeoutMs: r.rolloutTimeoutMs } : {}),
    log: r.log,
  });
}
