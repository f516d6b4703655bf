// The in-process queue of `npm start`: jobs of the same pull request run one at a time and in
// order, different pull requests in parallel (up to `concurrency`). A job that is still waiting
// when another arrives for the same PR is not queued twice: reconcile is level-triggered, so
// one pending run covers both. A follow-up look at a rollout is the exception: a reconcile does not
// finish a rollout on its own, so a pending follow-up waits beside the pending reconcile and runs
// after it. A repeated delivery id is dropped. Jobs may be enqueued for later (the follow-ups):
// they join the queue when due, as SQS's delay queue and relay do on AWS.
import type { JobQueue, LaterQueue, ReconcileJob } from "../jobs/job.js";
import { jobKey } from "../jobs/job.js";

export interface LocalQueueOptions {
  /** `attempt`: 1-based; above 1 after a failed attempt. */
  run: (job: ReconcileJob, attempt: number) => Promise<void>;
  /** What the error policy says after a failed attempt: retry after this long, or (null) stop. */
  onError: (
    job: ReconcileJob,
    err: unknown,
    attempt: number,
  ) => { retryInMs: number | null } | Promise<{ retryInMs: number | null }>;
  concurrency?: number;
  sleep?: (ms: number) => Promise<void>;
}

export class LocalQueue implements JobQueue, LaterQueue {
  /** Per PR: the pending job, and the pending follow-up (a check), each at most one. */
  private readonly pending = new Map<string, ReconcileJob>();
  private readonly checks = new Map<string, ReconcileJob>();
  private readonly running = new Set<string>();
  private readonly order: string[] = [];
  private readonly seenDeliveries = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly concurrency: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly opts: LocalQueueOptions) {
    this.concurrency = opts.concurrency ?? 4;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  enqueue(job: ReconcileJob): Promise<void> {
    if (this.seenDeliveries.has(job.delivery)) return Promise.resolve();
    this.seenDeliveries.add(job.delivery);
    if (this.seenDeliveries.size > 10_000)
      this.seenDeliveries.delete(this.seenDeliveries.values().next().value!);
    const key = jobKey(job);
    if (!this.pending.has(key) && !this.checks.has(key)) this.order.push(key);
    (job.check ? this.checks : this.pending).set(key, job);
    this.pump();
    return Promise.resolve();
  }

  /** Enqueues `job` in `delayMs`. */
  enqueueLater(job: ReconcileJob, delayMs: number): Promise<void> {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.enqueue(job);
      this.settled();
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
    return Promise.resolve();
  }

  /** Resolves when nothing is pending, running or due later (used by tests and on shutdown). */
  onIdle(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private idle(): boolean {
    return this.active === 0 && this.pending.size === 0 && this.checks.size === 0 && this.timers.size === 0;
  }

  private settled(): void {
    if (!this.idle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    waiters.forEach((w) => w());
  }

  private take(key: string): ReconcileJob {
    const from = this.pending.has(key) ? this.pending : this.checks;
    const job = from.get(key)!;
    from.delete(key);
    // The follow-up still waiting keeps the key's place.
    if (this.pending.has(key) || this.checks.has(key)) this.order.push(key);
    return job;
  }

  private pump(): void {
    for (let i = 0; i < this.order.length && this.active < this.concurrency;) {
      const key = this.order[i]!;
      if (this.running.has(key)) {
        i++;
        continue;
      }
      this.order.splice(i, 1);
      const job = this.take(key);
      this.running.add(key);
      this.active++;
      void this.execute(job).finally(() => {
        this.running.delete(key);
        this.active--;
        this.pump();
        this.settled();
      });
    }
  }

  private async execute(job: ReconcileJob): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.opts.run(job, attempt);
        return;
      } catch (err) {
        const { retryInMs } = await this.opts.onError(job, err, attempt);
        if (retryInMs === null) return;
        await this.sleep(retryInMs);
        // A newer job for the same PR supersedes this retry.
        if ((job.check ? this.checks : this.pending).has(jobKey(job))) return;
      }
    }
  }
}
