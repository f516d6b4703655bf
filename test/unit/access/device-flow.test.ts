// The CLI's sign-in (GitHub's OAuth device flow for GitHub Apps) against the GitHub stand-in's web
// host, over real HTTP, with one injected clock shared by the client (its sleeps) and the stand-in
// (code expiry, polling too fast): no test waits for real time.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DeviceFlowError, deviceFlowToken, type DeviceFlowDeps } from "../../../src/access/device-flow.js";
import { startGitHubStandIn, type GitHubStandIn, type OAuthAppModel } from "../../support/github-standin.js";

let now = Date.parse("2026-03-01T12:00:00Z");
let standIn: GitHubStandIn;
beforeAll(async () => {
  standIn = await startGitHubStandIn({ now: () => new Date(now) });
});
afterAll(() => standIn.close());
beforeEach(() => standIn.reset());

interface Run {
  sleeps: number[];
  prompts: { uri: string; code: string; seconds: number }[];
  deps: DeviceFlowDeps;
}

/** The real HTTP client; `sleep` advances the shared clock and lets the test act on the nth wait. */
function client(onSleep: (n: number, run: Run) => void = () => {}, firstWakesEarlyMs = 0): Run {
  const run: Run = {
    sleeps: [],
    prompts: [],
    deps: {
      async post(url, form) {
        const res = await fetch(url, {
          method: "POST",
          headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams(form).toString(),
        });
        return { status: res.status, body: await res.json() };
      },
      sleep(ms) {
        run.sleeps.push(ms);
        now += ms - (run.sleeps.length === 1 ? firstWakesEarlyMs : 0);
        onSleep(run.sleeps.length, run);
        return Promise.resolve();
      },
      now: () => now,
      prompt: (uri, code, seconds) => run.prompts.push({ uri, code, seconds }),
    },
  };
  return run;
}

const login = (oauth: OAuthAppModel) => ({ clientId: oauth.clientId, githubUrl: standIn.webUrl });

describe("the device flow", () => {
  it("shows where to enter the code, polls every `interval` seconds until the user authorizes, and returns the App's user token", async () => {
    const oauth = standIn.oauthApp();
    const run = client((n, r) => {
      if (n === 3) oauth.authorize(r.prompts[0]!.code, "bob");
    });
    const token = await deviceFlowToken(login(oauth), run.deps);

    expect(run.prompts).toEqual([
      {
        uri: `${standIn.webUrl}/login/device`,
        code: expect.stringMatching(/^[A-Z]{4}-[A-Z]{4}$/) as string,
        seconds: 899,
      },
    ]);
    expect(run.sleeps).toEqual([5000, 5000, 5000]);
    expect(token.token).toMatch(/^ghu_/);
    expect(oauth.tokens.get(token.token)?.login).toBe("bob");
    expect(token.expiresAt?.getTime()).toBe(now + 28_800_000);
    const web = standIn.calls.filter((c) => c.host === "web").map((c) => `${c.method} ${c.path}`);
    expect(web).toEqual([
      "POST /login/device/code",
      "POST /login/oauth/access_token",
      "POST /login/oauth/access_token",
      "POST /login/oauth/access_token",
    ]);
    standIn.verify();
  });

  it("waits longer after slow_down, as GitHub's answer says", async () => {
    const oauth = standIn.oauthApp();
    // This client wakes 1 s early once, so its first poll comes too early for GitHub.
    const run = client((n, r) => {
      if (n === 2) oauth.authorize(r.prompts[0]!.code, "alice");
    }, 1000);
    await deviceFlowToken(login(oauth), run.deps);
    // slow_down added 5 s: the next waits are 10 s.
    expect(run.sleeps).toEqual([5000, 10_000]);
    const answers = standIn.calls.filter((c) => c.path === "/login/oauth/access_token").length;
    expect(answers).toBe(2);
  });

  it("says why when the user cancels, the code expires, the App has the device flow off, or the client id is wrong", async () => {
    const oauth = standIn.oauthApp({ codeExpiresIn: 30 });
    const denied = client((n, r) => {
      if (n === 1) oauth.deny(r.prompts[0]!.code);
    });
    await expect(deviceFlowToken(login(oauth), denied.deps)).rejects.toThrow(
      new DeviceFlowError("the sign-in was cancelled on GitHub"),
    );

    const expired = client();
    await expect(deviceFlowToken(login(oauth), expired.deps)).rejects.toThrow(
      /the code expired before it was entered/,
    );
    expect(expired.sleeps.length).toBeLessThanOrEqual(7);

    await expect(deviceFlowToken({ ...login(oauth), clientId: "Iv23wrong" }, client().deps)).rejects.toThrow(
      "GitHub does not know prenv's client id",
    );

    standIn.reset();
    const off = standIn.oauthApp({ deviceFlow: false });
    await expect(deviceFlowToken(login(off), client().deps)).rejects.toThrow('tick "Enable Device Flow"');
  });
});
