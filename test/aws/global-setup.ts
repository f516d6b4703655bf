// Starts ElasticMQ (SQS-compatible, FIFO) on a free loopback port for the AWS tier.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { repoRoot } from "../cluster/harness/controlplane.js";

declare module "vitest" {
  export interface ProvidedContext {
    sqsEndpoint: string;
  }
}

let runDir: string | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      srv.close(() => (typeof a === "object" && a ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

function script(cmd: string, env: NodeJS.ProcessEnv): void {
  execFileSync("bash", [join(repoRoot, "scripts/elasticmq.sh"), cmd], {
    env,
    stdio: ["ignore", "inherit", "inherit"],
  });
}

let env: NodeJS.ProcessEnv | undefined;

export async function setup(project: TestProject): Promise<void> {
  runDir = mkdtempSync(join(tmpdir(), "prenv-elasticmq-"));
  const port = await freePort();
  env = { ...process.env, ELASTICMQ_PORT: String(port), ELASTICMQ_RUN_DIR: runDir };
  script("start", env);
  project.provide("sqsEndpoint", `http://127.0.0.1:${port}`);
}

export function teardown(): void {
  if (env) script("stop", env);
  if (runDir) rmSync(runDir, { recursive: true, force: true });
}
