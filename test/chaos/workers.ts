// The chaos run's worker processes: real processes consuming the FIFO queue (worker-main.ts), some
// of them killed mid-job (SIGKILL, as a crash or a lost Lambda sandbox would end them) and replaced.
// Their log lines go to one file and through the secret scanner; their job starts and ends are
// counted for the figures.
import { fork, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Rng } from "./rng.js";

const here = dirname(fileURLToPath(import.meta.url));

export interface JobFigures {
  /** Jobs started (every receive of a message). */
  started: number;
  /** Receives of a message after its first: redeliveries after a failure, a kill or a timeout. */
  retries: number;
  succeeded: number;
  failed: number;
  killed: number;
  timedOut: number;
}

interface Running {
  id: string;
  since: number;
}

interface Worker {
  child: ChildProcess;
  job: Running | null;
  /** Why it ended, when the run ended it. */
  ending?: "killed" | "stopping";
}

export interface PoolOptions {
  count: number;
  env: NodeJS.ProcessEnv;
  /** Share of jobs whose worker is killed mid-job. */
  killRate: number;
  rng: Rng;
  logFile: string;
  /** Every log line of every process, to check for secrets. */
  onLine: (line: string) => void;
  onJob?: (job: { body: string; receives: number }) => void;
}

export function spawnTs(script: string, env: NodeJS.ProcessEnv): ChildProcess {
  return fork(join(here, script), [], {
    env,
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
}

export function pipeLines(child: ChildProcess, log: WriteStream, onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on("line", (line) => {
      log.write(`${line}\n`);
      onLine(line);
    });
  }
}

export class WorkerPool {
  readonly figures: JobFigures = { started: 0, retries: 0, succeeded: 0, failed: 0, killed: 0, timedOut: 0 };
  private readonly workers = new Set<Worker>();
  private readonly log: WriteStream;
  private stopping = false;

  constructor(private readonly opts: PoolOptions) {
    this.log = createWriteStream(opts.logFile, { flags: "a" });
    for (let i = 0; i < opts.count; i++) this.spawn();
  }

  /** True when no worker is in the middle of a job. */
  get idle(): boolean {
    return [...this.workers].every((w) => w.job === null);
  }

  setKillRate(rate: number): void {
    this.opts.killRate = rate;
  }

  private spawn(): void {
    const child = spawnTs("worker-main.ts", this.opts.env);
    const w: Worker = { child, job: null };
    this.workers.add(w);
    pipeLines(child, this.log, this.opts.onLine);
    child.on("message", (m: { type: string; id?: string; receives?: number; ok?: boolean; body?: string }) =>
      this.onMessage(w, m),
    );
    child.on("exit", () => {
      this.workers.delete(w);
      if (!this.stopping) this.spawn();
    });
  }

  private onMessage(
    w: Worker,
    m: { type: string; id?: string; receives?: number; ok?: boolean; body?: string },
  ) {
    if (m.type === "start") {
      this.figures.started++;
      if ((m.receives ?? 1) > 1) this.figures.retries++;
      w.job = { id: m.id!, since: Date.now() };
      this.opts.onJob?.({ body: m.body ?? "", receives: m.receives ?? 1 });
      if (this.opts.killRate > 0 && this.opts.rng.chance(this.opts.killRate)) {
        const id = m.id!;
        setTimeout(() => this.kill(w, id), this.opts.rng.int(20, 2500));
      }
    } else if (m.type === "end") {
      w.job = null;
      if (m.ok) this.figures.succeeded++;
      else this.figures.failed++;
    } else if (m.type === "timeout") {
      this.figures.timedOut++;
    }
  }

  private kill(w: Worker, id: string): void {
    if (w.job?.id !== id || w.ending) return;
    w.ending = "killed";
    this.figures.killed++;
    w.child.kill("SIGKILL");
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.workers].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
            w.child.once("exit", () => resolve());
            w.child.kill("SIGTERM");
          }),
      ),
    );
    await new Promise<void>((resolve) => this.log.end(resolve));
  }
}
