// `npm start`'s janitor: what the EventBridge schedule is on AWS. A pass right after start (so a
// process killed mid-job is repaired when it comes back, not at the next webhook) and then every
// PRENV_JANITOR_INTERVAL; it asks for reconcile and purge jobs on the local queue, in each PR's
// group, as the janitor function does on SQS. A pass never overlaps the previous one; a failed pass
// is logged and the next one is simply tried.
import type { JanitorReport } from "../environment/janitor.js";
import type { Logger } from "../environment/ports.js";

export interface LocalJanitorOptions {
  /** Milliseconds between passes; 0: no scheduled janitor. */
  everyMs: number;
  pass: () => Promise<JanitorReport>;
  log: Logger;
  timers?: {
    setTimeout: (fn: () => void, ms: number) => unknown;
    clearTimeout: (handle: unknown) => void;
  };
}

export interface LocalJanitor {
  /** Resolves when the current pass (if any) has ended; no further pass starts. */
  stop(): Promise<void>;
}

export function scheduleJanitor(o: LocalJanitorOptions): LocalJanitor {
  const timers = o.timers ?? {
    setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms).unref(),
    clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
  };
  let stopped = o.everyMs <= 0;
  let handle: unknown;
  let current: Promise<void> = Promise.resolve();
  const tick = () => {
    current = o.pass().then(
      (r) =>
        o.log.info(
          { environments: r.environments, reconciled: r.reconciled.length, deleted: r.deleted.length },
          "janitor pass",
        ),
      (err: unknown) =>
        o.log.error({ err: err instanceof Error ? err.message : String(err) }, "janitor pass failed"),
    );
    void current.then(() => {
      if (!stopped) handle = timers.setTimeout(tick, o.everyMs);
    });
  };
  if (!stopped) handle = timers.setTimeout(tick, 0);
  return {
    stop: async () => {
      stopped = true;
      if (handle !== undefined) timers.clearTimeout(handle);
      await current;
    },
  };
}
