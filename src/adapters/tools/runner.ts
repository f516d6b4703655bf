// ToolRunner on child processes: helm or kustomize, pinned builds from PRENV_RENDER_TOOLS (the
// worker's Lambda layer: /opt/bin), run on a fresh work directory holding only the files the use
// case picked. The child gets an empty environment (a temporary HOME and TMPDIR, nothing else: no
// AWS or GitHub credentials, no kubeconfig, no PATH), a time limit, an output limit and a memory
// limit (its resident set, read from /proc every 20 ms: an address-space rlimit is no use for Go
// programs, whose start-up reservations make it fail at some sizes and pass at larger ones); it is
// killed with its process group at any of them. Its files are removed afterwards.
import { spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import { PrenvError } from "../../errors.js";
import type { ToolResult, ToolRun, ToolRunner } from "../../sources/ports.js";

export interface ToolRunnerOptions {
  /** Directory holding the `helm` and `kustomize` binaries. */
  toolsDir: string;
  timeoutMs: number;
  maxOutputBytes: number;
  /** Resident memory the child may use. */
  memoryBytes: number;
}

/** Error output kept for the message: its beginning and its end (where Go puts the cause). */
const STDERR_HEAD = 32 * 1024;
const STDERR_TAIL = 32 * 1024;
/** How often the child's resident memory is read. */
const MEMORY_POLL_MS = 20;

export class ChildToolRunner implements ToolRunner {
  readonly limits: ToolRunner["limits"];

  constructor(private readonly opts: ToolRunnerOptions) {
    this.limits = {
      timeoutMs: opts.timeoutMs,
      maxOutputBytes: opts.maxOutputBytes,
      memoryBytes: opts.memoryBytes,
    };
  }

  async run(run: ToolRun): Promise<ToolResult> {
    const base = await mkdtemp(join(tmpdir(), "prenv-render-"));
    try {
      const work = join(base, "work");
      const home = join(base, "home");
      const tmp = join(base, "tmp");
      await Promise.all([
        mkdir(work, { mode: 0o700 }),
        mkdir(home, { mode: 0o700 }),
        mkdir(tmp, { mode: 0o700 }),
      ]);
      for (const [path, content] of run.files) {
        const target = join(work, safeRelative(path));
        await mkdir(dirname(target), { recursive: true, mode: 0o700 });
        await writeFile(target, content, { mode: 0o600 });
      }
      // Helm refuses to read a chart directory it cannot list; make directories traversable.
      await chmod(work, 0o700);
      const result = await this.spawn(run, { work, home, tmp });
      return scrub(result, work);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  }

  private spawn(run: ToolRun, dirs: { work: string; home: string; tmp: string }): Promise<ToolResult> {
    const { timeoutMs, maxOutputBytes, memoryBytes } = this.opts;
    const binary = join(this.opts.toolsDir, run.tool);
    return new Promise((resolve, reject) => {
      const child = spawn(binary, run.args, {
        cwd: dirs.work,
        env: { HOME: dirs.home, TMPDIR: dirs.tmp },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      });
      const out: Buffer[] = [];
      let outBytes = 0;
      let head = "";
      let tail = "";
      let skipped = false;
      let stoppedFor: "timeout" | "output" | "memory" | null = null;
      const kill = (reason: "timeout" | "output" | "memory") => {
        if (stoppedFor) return;
        stoppedFor = reason;
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          child.kill("SIGKILL");
        }
      };
      const timer = setTimeout(() => kill("timeout"), timeoutMs);
      const watch = setInterval(() => {
        void residentBytes(child.pid).then((rss) => {
          if (rss !== null && rss > memoryBytes) kill("memory");
        });
      }, MEMORY_POLL_MS);
      const done = () => {
        clearTimeout(timer);
        clearInterval(watch);
      };
      child.stdout.on("data", (chunk: Buffer) => {
        if (stoppedFor) return;
        outBytes += chunk.length;
        if (outBytes > maxOutputBytes) kill("output");
        else out.push(chunk);
      });
      child.stderr.on("data", (chunk: Buffer) => {
        let text = chunk.toString("utf8");
        if (head.length < STDERR_HEAD) {
          const room = STDERR_HEAD - head.length;
          head += text.slice(0, room);
          text = text.slice(room);
        }
        tail += text;
        if (tail.length > STDERR_TAIL) {
          skipped = true;
          tail = tail.slice(-STDERR_TAIL);
        }
      });
      const stderr = () => (skipped ? `${head} … ${tail}` : head + tail);
      child.on("error", (e: NodeJS.ErrnoException) => {
        done();
        reject(
          new PrenvError(
            "CLUSTER_ERROR",
            `prenv's ${run.tool} could not run (${e.code ?? e.message}); check that PRENV_RENDER_TOOLS (${this.opts.toolsDir}) holds the binaries built by tools/render/build.sh (on AWS: the worker's render layer).`,
            { cause: e },
          ),
        );
      });
      child.on("close", (code) => {
        done();
        const err = stderr();
        if (stoppedFor) return resolve({ ok: false, reason: stoppedFor, stderr: err });
        if (code === 0) return resolve({ ok: true, stdout: Buffer.concat(out).toString("utf8") });
        // The machine itself refused memory before the watch saw the child grow.
        const memory = /fatal error: (runtime: )?out of memory|cannot allocate memory/i.test(err);
        resolve({ ok: false, reason: memory ? "memory" : "exit", stderr: err });
      });
    });
  }
}

/** The resident set of a process, from /proc (null where there is none, or it has exited). */
async function residentBytes(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kib === undefined ? null : Number(kib) * 1024;
  } catch {
    return null;
  }
}

/** A work-directory path as the use case gave it: relative, normalised, never leaving the directory. */
function safeRelative(path: string): string {
  const normal = posix.normalize(path);
  if (
    normal !== path ||
    normal.startsWith("/") ||
    normal === ".." ||
    normal.startsWith("../") ||
    normal === "."
  ) {
    throw new PrenvError(
      "CLUSTER_ERROR",
      `refusing to write ${JSON.stringify(path)} outside the work directory`,
    );
  }
  return normal;
}

/** The work directory's absolute path never reaches a message. */
function scrub(result: ToolResult, work: string): ToolResult {
  if (result.ok) return result;
  return { ...result, stderr: result.stderr.replaceAll(`${work}/`, "").replaceAll(work, ".") };
}
