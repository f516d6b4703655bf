// The child-process runner with stand-in "tools" (shell scripts in a temporary tools directory),
// so its sandbox is checked without helm: what environment the child sees, where it runs, and that
// it is killed at the time and output limits.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ChildToolRunner } from "../../../src/adapters/tools/runner.js";

const tools = mkdtempSync(join(tmpdir(), "prenv-runner-test-"));
afterAll(() => rmSync(tools, { recursive: true, force: true }));

function tool(name: "helm" | "kustomize", script: string): void {
  writeFileSync(join(tools, name), `#!/bin/sh\n${script}\n`);
  chmodSync(join(tools, name), 0o755);
}

function runner(opts: Partial<{ timeoutMs: number; maxOutputBytes: number }> = {}) {
  return new ChildToolRunner({
    toolsDir: tools,
    timeoutMs: opts.timeoutMs ?? 5000,
    maxOutputBytes: opts.maxOutputBytes ?? 1024 * 1024,
    memoryBytes: 512 * 1024 * 1024,
  });
}

describe("ChildToolRunner", () => {
  it("runs the tool with an empty environment (a temporary HOME and TMPDIR only) in a work directory holding just the given files", async () => {
    process.env.PRENV_RUNNER_TEST_SECRET = "must-not-leak";
    tool("helm", 'env | sort; echo "cwd=$(pwd)"; cat chart/values.yaml');
    const result = await runner().run({
      tool: "helm",
      args: [],
      files: new Map([["chart/values.yaml", Buffer.from("a: 1\n")]]),
    });
    delete process.env.PRENV_RUNNER_TEST_SECRET;
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const env = result.stdout
      .split("\n")
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => l.split("=")[0]);
    // sh itself adds PWD (and SHLVL in some shells); nothing else comes from prenv's process.
    expect(env.filter((k) => !["PWD", "SHLVL", "OLDPWD", "_"].includes(k!))).toEqual(["HOME", "TMPDIR"]);
    expect(result.stdout).not.toContain("must-not-leak");
    expect(result.stdout).toMatch(/cwd=.*prenv-render-[^/]+\/work\n/);
    expect(result.stdout).toContain("a: 1");
  });

  it("removes its work directory afterwards", async () => {
    tool("helm", "pwd");
    const result = await runner().run({ tool: "helm", args: [], files: new Map() });
    expect(result.ok).toBe(true);
    const { existsSync } = await import("node:fs");
    if (result.ok) expect(existsSync(result.stdout.trim())).toBe(false);
  });

  it("kills a tool that runs past the time limit", async () => {
    tool("kustomize", "echo started; sleep 30");
    const started = Date.now();
    const result = await runner({ timeoutMs: 300 }).run({ tool: "kustomize", args: [], files: new Map() });
    expect(result).toMatchObject({ ok: false, reason: "timeout" });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("kills a tool that prints more than the output limit", async () => {
    tool("helm", "yes xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    const result = await runner({ maxOutputBytes: 64 * 1024 }).run({
      tool: "helm",
      args: [],
      files: new Map(),
    });
    expect(result).toMatchObject({ ok: false, reason: "output" });
  });

  it("kills a tool whose resident memory grows past the memory limit", async () => {
    // A shell variable doubled until it holds a few hundred megabytes.
    tool("kustomize", 'x=xxxxxxxxxxxxxxxx; while :; do x="$x$x"; done');
    const r = new ChildToolRunner({
      toolsDir: tools,
      timeoutMs: 20_000,
      maxOutputBytes: 1024,
      memoryBytes: 64 * 1024 * 1024,
    });
    const result = await r.run({ tool: "kustomize", args: [], files: new Map() });
    expect(result).toMatchObject({ ok: false, reason: "memory" });
  });

  it("returns a failing tool's error output with the work directory's path removed", async () => {
    tool("helm", 'echo "Error: open $(pwd)/chart/x.yaml: no such file" >&2; exit 1');
    const result = await runner().run({ tool: "helm", args: [], files: new Map() });
    expect(result).toEqual({ ok: false, reason: "exit", stderr: "Error: open chart/x.yaml: no such file\n" });
  });

  it("refuses to write a file outside the work directory", async () => {
    tool("helm", "true");
    await expect(
      runner().run({ tool: "helm", args: [], files: new Map([["../escape.yaml", Buffer.from("x")]]) }),
    ).rejects.toThrow(/outside the work directory/);
  });

  it("says which setting to check when the tool is missing", async () => {
    const r = new ChildToolRunner({
      toolsDir: join(tools, "nowhere"),
      timeoutMs: 1000,
      maxOutputBytes: 1024,
      memoryBytes: 2 ** 30,
    });
    await expect(r.run({ tool: "kustomize", args: [], files: new Map() })).rejects.toThrow(
      /PRENV_RENDER_TOOLS/,
    );
  });
});
