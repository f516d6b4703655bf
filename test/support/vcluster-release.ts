// The pinned vcluster release's chart files (values.yaml, values.schema.json, templates/role.yaml),
// as test/cluster/vcluster/build.sh keeps them in its cache from the release's Go module. Without
// Go the tests that need them are skipped on a developer machine, with the reason; where the
// cluster tier is required (CI) they fail instead.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isRequired } from "../cluster/harness/tier.js";

const buildScript = resolve(dirname(fileURLToPath(import.meta.url)), "../cluster/vcluster/build.sh");

export type ReleaseChart =
  { ok: true; dir: string; version: string; read(file: string): string } | { ok: false; reason: string };

let cached: ReleaseChart | undefined;

export function releaseChart(env: NodeJS.ProcessEnv = process.env): ReleaseChart {
  if (cached) return cached;
  if (spawnSync("go", ["version"], { encoding: "utf8" }).status !== 0) {
    const reason = "Go is not installed (the pinned vcluster chart comes from its Go module)";
    if (isRequired(env))
      throw new Error(`vcluster chart is required here (CI) but cannot be read: ${reason}`);
    return (cached = { ok: false, reason });
  }
  const out = execFileSync("bash", [buildScript, "chart"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const dir = out.trim().split("\n").pop() ?? "";
  const read = (file: string) => readFileSync(join(dir, file), "utf8");
  return (cached = { ok: true, dir, version: read("VERSION").trim(), read });
}
