// `npm run janitor` (src/cli.ts) with a GitHub that never answers: it fails in seconds with one line
// naming the API URL it built from GHE_HOST and GHE_PROTOCOL, before it touches the cluster (issue 17:
// it hung ~145 s in Octokit's retries, per repository, before failing).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { APP_ID, appPrivateKey } from "../support/app-key.js";

const root = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "prenv-janitor-cli-"));
const keyFile = join(dir, "app.pem");
writeFileSync(keyFile, appPrivateKey(), { mode: 0o600 });
const sockets: Socket[] = [];
const silent = createServer((s) => void sockets.push(s));
afterAll(async () => {
  sockets.forEach((s) => s.destroy());
  await new Promise((r) => silent.close(r));
  rmSync(dir, { recursive: true, force: true });
});

function janitor(env: Record<string, string>): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((done, reject) => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        pathToFileURL(join(root, "node_modules/tsx/dist/loader.mjs")).href,
        join(root, "src/cli.ts"),
        "janitor",
      ],
      {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "", HOME: dir, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`prenv janitor did not exit within 40 s:\n${stderr}`));
    }, 40_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      done({ code, stderr, ms: Date.now() - started });
    });
  });
}

describe("prenv janitor", { timeout: 60_000 }, () => {
  it("fails fast on a GitHub that never answers, naming the URL from GHE_HOST and GHE_PROTOCOL", async () => {
    const port = await new Promise<number>((r) =>
      silent.listen(0, "127.0.0.1", () => r((silent.address() as { port: number }).port)),
    );
    const exit = await janitor({
      APP_ID: String(APP_ID),
      PRIVATE_KEY_PATH: keyFile,
      GHE_HOST: `127.0.0.1:${port}`,
      GHE_PROTOCOL: "http",
      KUBECONFIG: join(dir, "no-such-kubeconfig"),
    });
    expect(exit.code, exit.stderr).toBe(2);
    expect(exit.stderr.trim()).toBe(
      `prenv: cannot reach GitHub's API at http://127.0.0.1:${port}/api/v3 (no answer within 10 s): check PRENV_GITHUB_API_URL, or GHE_HOST and GHE_PROTOCOL`,
    );
    expect(exit.ms).toBeLessThan(30_000);
  });
});
