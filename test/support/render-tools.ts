// The pinned helm and kustomize the suite renders with: the same build as the worker's layer, for
// this machine's architecture (tools/render/build.sh). Tests never build them (minutes of Go):
// `npm run render:build` or CI's .ci/run does. Without them the tests that need them are skipped
// with the reason printed, except where the tiers are required (CI), where that is an error.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { isRequired } from "../cluster/harness/tier.js";

let cached: { dir: string | null; reason: string } | undefined;

/** The directory holding `helm` and `kustomize`, or null (a warning says why) when not built. */
export function renderToolsDir(): string | null {
  cached ??= find();
  if (cached.dir === null) {
    if (isRequired(process.env)) throw new Error(`render tools are required here (CI): ${cached.reason}`);
    console.warn(`render tests SKIPPED: ${cached.reason}`);
  }
  return cached.dir;
}

function find(): { dir: string | null; reason: string } {
  if (process.env.PRENV_TEST_RENDER_TOOLS) return { dir: process.env.PRENV_TEST_RENDER_TOOLS, reason: "" };
  const arch = process.arch === "arm64" ? "linux-arm64" : "linux-amd64";
  const check = spawnSync("bash", ["tools/render/build.sh", "--check"], { encoding: "utf8" });
  if (check.status === 0) return { dir: join(check.stdout.trim().split("\n").at(-1)!, arch), reason: "" };
  const why = check.stderr.trim().split("\n").at(-1) ?? `build.sh --check exited ${check.status}`;
  return { dir: null, reason: why };
}
