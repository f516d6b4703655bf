// `npm start` fails closed: the real entry point (tsx src/main.ts) spawned with a controlled
// environment, in an empty working directory (no .env but the test's own). Each refusal is one line
// on stderr and exit code 1, before anything listens or calls out; nothing falls into Probot's setup
// page (which would keep running and reach a webhook relay over the internet).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { APP_ID, appPrivateKey } from "../support/app-key.js";

const root = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "prenv-start-"));
const keyFile = join(dir, "app.pem");
writeFileSync(keyFile, appPrivateKey(), { mode: 0o600 });
const garbageFile = join(dir, "garbage.pem");
writeFileSync(garbageFile, "-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs src/main.ts (under tsx) in `cwd` with exactly `env` (plus PATH and HOME); kills it after 20 s. */
function start(env: Record<string, string>, cwd = dir): Promise<Exit> {
  return new Promise((done, reject) => {
    // One process (tsx as a loader, not its CLI, which would run main.ts in a child of its own),
    // so that the kill below leaves nothing behind.
    const child = spawn(
      process.execPath,
      [
        "--import",
        pathToFileURL(join(root, "node_modules/tsx/dist/loader.mjs")).href,
        join(root, "src/main.ts"),
      ],
      {
        cwd,
        env: { PATH: process.env.PATH ?? "", HOME: dir, PORT: "0", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `npm start did not exit within 20 s (it is serving, e.g. Probot's setup page):\n${stdout}\n${stderr}`,
        ),
      );
    }, 20_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

const app = { APP_ID: String(APP_ID), PRIVATE_KEY_PATH: keyFile };

function refusedInOneLine(exit: Exit, says: string): void {
  expect(exit.code, exit.stderr).toBe(1);
  const lines = exit.stderr.split("\n").filter((l) => l !== "");
  expect(lines, exit.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^prenv: /);
  expect(lines[0]).toContain(says);
}

describe("npm start fails closed", { timeout: 30_000 }, () => {
  it("refuses an empty WEBHOOK_SECRET in one line saying what to set", async () => {
    const exit = await start({ ...app, WEBHOOK_SECRET: "" });
    refusedInOneLine(exit, "WEBHOOK_SECRET is empty: set it to the GitHub App's webhook secret");
    expect(exit.stderr).toContain("PRENV_DEVELOPMENT=1");
  });

  it("an empty WEBHOOK_SECRET in .env is refused the same way", async () => {
    const cwd = mkdtempSync(join(dir, "dotenv-"));
    writeFileSync(join(cwd, ".env"), `APP_ID=${APP_ID}\nPRIVATE_KEY_PATH=${keyFile}\nWEBHOOK_SECRET=\n`);
    refusedInOneLine(await start({}, cwd), "WEBHOOK_SECRET is empty");
  });

  it("a missing private key file with APP_ID set is fatal, never Probot's setup page, development mode or not", async () => {
    const missing = join(dir, "nowhere.pem");
    for (const development of ["", "1"]) {
      const exit = await start({
        APP_ID: String(APP_ID),
        PRIVATE_KEY_PATH: missing,
        WEBHOOK_SECRET: "s3cret",
        PRENV_DEVELOPMENT: development,
      });
      refusedInOneLine(exit, `cannot read the GitHub App's private key at ${missing} (ENOENT)`);
      expect(exit.stdout).not.toContain("setup");
    }
  });

  it("a file that is not a private key is fatal too", async () => {
    const exit = await start({
      APP_ID: String(APP_ID),
      PRIVATE_KEY_PATH: garbageFile,
      WEBHOOK_SECRET: "s3cret",
    });
    refusedInOneLine(exit, `PRIVATE_KEY_PATH (${garbageFile}) is not the GitHub App's private key`);
  });

  it("no App at all is refused outside development mode, naming the variables and the opt-in", async () => {
    const exit = await start({});
    refusedInOneLine(
      exit,
      "no GitHub App configured: set APP_ID, PRIVATE_KEY_PATH (or PRIVATE_KEY) and WEBHOOK_SECRET",
    );
    expect(exit.stderr).toContain("PRENV_DEVELOPMENT=1");
  });

  it("PRENV_DEVELOPMENT=1 lets an empty WEBHOOK_SECRET through, with a warning", async () => {
    const exit = await start({
      ...app,
      WEBHOOK_SECRET: "",
      PRENV_DEVELOPMENT: "1",
      KUBECONFIG: join(dir, "no-such-kubeconfig"),
    });
    // Past the secret check: it stops at the next one (no cluster here).
    refusedInOneLine(exit, "cannot load kubeconfig");
    expect(exit.stdout).toContain('accepting webhooks signed with \\"development\\"');
  });
});
