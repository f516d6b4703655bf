// One GitHub connection setting for every entry point, checked before a janitor pass: an unreachable
// or silent API fails in seconds with a line naming the URL and the settings to fix, instead of
// minutes of retries per repository (issue 17: `npm run janitor` hung ~145 s before failing).
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createHttpServer } from "node:http";
import { Probot } from "probot";
import { afterEach, describe, expect, it } from "vitest";
import { checkGitHub } from "../../../src/runtime/github-preflight.js";
import { probotOptions } from "../../../src/runtime/root/github.js";
import { loadSettings } from "../../../src/runtime/settings.js";
import { APP_ID, appPrivateKey } from "../../support/app-key.js";
import { pino } from "pino";

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  sockets.splice(0).forEach((s) => s.destroy());
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function listen(server: Server): Promise<number> {
  servers.push(server);
  return new Promise((r) =>
    server.listen(0, "127.0.0.1", () => r((server.address() as { port: number }).port)),
  );
}

/** Probot as every entry point builds it, from GHE_HOST and GHE_PROTOCOL. */
function probotAt(port: number) {
  const settings = loadSettings({ GHE_HOST: `127.0.0.1:${port}`, GHE_PROTOCOL: "http" });
  const probot = new Probot(
    probotOptions(settings, { appId: APP_ID, privateKey: appPrivateKey() }, pino({ level: "silent" })),
  );
  return { probot, apiUrl: settings.github.apiUrl };
}

describe("checkGitHub", () => {
  it("GHE_PROTOCOL=http is honoured: the stand-in over plain HTTP answers GET /app", async () => {
    const seen: string[] = [];
    const port = await listen(
      createHttpServer((req, res) => {
        seen.push(`${req.method} ${req.url}`);
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ id: APP_ID, slug: "prenv" }));
      }),
    );
    const { probot, apiUrl } = probotAt(port);
    expect(apiUrl).toBe(`http://127.0.0.1:${port}/api/v3`);
    await checkGitHub(probot, apiUrl);
    expect(seen).toEqual(["GET /api/v3/app"]);
  });

  it("a GitHub that accepts the connection and never answers fails within the limit, naming the settings", async () => {
    const port = await listen(createServer((s) => void sockets.push(s)));
    const { probot, apiUrl } = probotAt(port);
    const started = Date.now();
    await expect(checkGitHub(probot, apiUrl, 500)).rejects.toThrow(
      `cannot reach GitHub's API at http://127.0.0.1:${port}/api/v3 (no answer within 1 s): check PRENV_GITHUB_API_URL, or GHE_HOST and GHE_PROTOCOL`,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("a closed port fails at once, without Octokit's retries", async () => {
    const port = await listen(createServer());
    await new Promise((r) => servers.pop()!.close(r));
    const { probot, apiUrl } = probotAt(port);
    const started = Date.now();
    await expect(checkGitHub(probot, apiUrl)).rejects.toThrow(
      /cannot reach GitHub's API at .*ECONNREFUSED.*GHE_PROTOCOL/,
    );
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("a 401 names the App's credentials, not the URL settings", async () => {
    const port = await listen(
      createHttpServer((_req, res) => {
        res.statusCode = 401;
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ message: "A JSON web token could not be decoded" }));
      }),
    );
    const { probot, apiUrl } = probotAt(port);
    await expect(checkGitHub(probot, apiUrl)).rejects.toThrow(/refused the App \(HTTP 401\): check APP_ID/);
  });
});
