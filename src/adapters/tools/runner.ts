// ToolRunner on child processes: helm or kustomize, pinned builds from PRENV_RENDER_TOOLS (the
// worker's Lambda layer: /opt/bin), run on a fresh work directory holding only the files the use
// case picked. The child gets an empty environment (a temporary HOME and TMPDIR, nothing else: no
// AWS or GitHub credentials, no kubeconfig, no PATH), a memory limit (RLIMIT_AS, set by the
// shell that execs it), a time limit and an output limit; it is killed with its process group at
// either limit. Its files are removed afterwards.
import { spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import { PrenvError } from "../../errors.js";
import type { ToolResult, ToolRun, ToolRunner } from "../../sources/ports.js";

export interface ToolRunnerOptions {
  /** Directory holding the `helm` and `kustomize` binaries. */
  toolsDir: string;
  timeoutMs: number;
  maxOutputBytes: number;
  /** Address-space limit of the child (Go reserves some beyond what it uses: keep >= 512 MiB). */
  memoryBytes: number;
}

/** Error output kept for the message. */
const MAX_STDERR = 64 * 1024;
/** The shell's own exit codes: ulimit refused, tool not found or not executable. */
const EXIT_NO_LIMIT = 97;
const EXIT_NOT_FOUND = 127;
const EXIT_NOT_EXECUTABLE = 126;

export class ChildToolRunner implements ToolRunner {
  readonly limits: ToolRunner["limits"];

  constructor(private readonly opts: ToolRunnerOptions) {
    this.limits = { timeoutMs: opts.timeoutMs, maxOutputBytes: opts.maxOutputBytes, memoryBytes: opts.memoryBytes };
  }

  async run(run: ToolRun): Promise<ToolResult> {
    const base = await mkdtemp(join(tmpdir(), "prenv-render-"));
    try {
      const work = join(base, "work");
      const home = join(base, "home");
      const tmp = join(base, "tmp");
      await Promise.all([mkdir(work, { mode: 0o700 }), mkdir(home, { mode: 0o700 }), mkdir(tmp, { mode: 0o700 })]);
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
    const kib = String(Math.floor(memoryBytes / 1024));
    return new Promise((resolve, reject) => {
      const child = spawn(
        "/bin/sh",
        ["-c", `ulimit -v "$0" || exit ${EXIT_NO_LIMIT}; exec "$@"`, kib, binary, ...run.args],
        {
          cwd: dirs.work,
          env: { HOME: dirs.home, TMPDIR: dirs.tmp },
          stdio: ["ignore", "pipe", "pipe"],
          detached: true,
        },
      );
      const out: Buffer[] = [];
      let outBytes = 0;
      let err = "";
      let stoppedFor: "timeout" | "output" | null = null;
      const kill = (reason: "timeout" | "output") => {
        if (stoppedFor) return;
        stoppedFor = reason;
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          child.kill("SIGKILL");
        }
      };
      const timer = setTimeout(() => kill("timeout"), timeoutMs);
      child.stdout.on("data", (chunk: Buffer) => {
        if (stoppedFor) return;
        outBytes += chunk.length;
        if (outBytes > maxOutputBytes) kill("output");
        else out.push(chunk);
      });
      child.stderr.on("data", (chunk: Buffer) => {
        if (err.length < MAX_STDERR) err += chunk.toString("utf8").slice(0, MAX_STDERR - err.length);
      });
      child.on("error", (e) => {
        clearTimeout(timer);
        reject(new PrenvError("CLUSTER_ERROR", `could not start ${run.tool}: ${e.message}`, { cause: e }));
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        if (stoppedFor) return resolve({ ok: false, reason: stoppedFor, stderr: err });
        if (code === EXIT_NOT_FOUND || code === EXIT_NOT_EXECUTABLE || code === EXIT_NO_LIMIT) {
          return reject(
            new PrenvError(
              "CLUSTER_ERROR",
              `prenv's ${run.tool} could not run (exit ${code}); check that PRENV_RENDER_TOOLS (${this.opts.toolsDir}) holds the binaries built by tools/render/build.sh (on AWS: the worker's render layer).`,
            ),
          );
        }
        if (code === 0) return resolve({ ok: true, stdout: Buffer.concat(out).toString("utf8") });
        const memory = /out of memory|cannot allocate memory/i.test(err);
        resolve({ ok: false, reason: memory ? "memory" : "exit", stderr: err });
      });
    });
  }
}

/** A work-directory path as the use case gave it: relative, normalised, never leaving the directory. */
function safeRelative(path: string): string {
  const normal = posix.normalize(path);
  if (normal !== path || normal.startsWith("/") || normal === ".." || normal.startsWith("../") || normal === ".") {
    throw new PrenvError("CLUSTER_ERROR", `refusing to write ${JSON.stringify(path)} outside the work directory`);
  }
  return normal;
}

/** The work directory's absolute path never reaches a message. */
function scrub(result: ToolResult, work: string): ToolResult {
  if (result.ok) return result;
  return { ...result, stderr: result.stderr.replaceAll(`${work}/`, "").replaceAll(work, ".") };
}
