// The real Probot for tests and benchmarks: the test App's id, key and webhook secret, Octokit
// pointed at `baseUrl` (the GitHub stand-in) with retries and throttling off, so an unexpected
// answer fails at once instead of being retried into a timeout. `Octokit` replaces that class
// (a benchmark that measures time runs the one production uses).
import { Probot, ProbotOctokit } from "probot";
import { pino, type Logger } from "pino";
import { APP_ID, WEBHOOK_SECRET, appPrivateKey } from "./app-key.js";

export function testProbot(
  opts: { baseUrl?: string; log?: Logger; Octokit?: typeof ProbotOctokit } = {},
): Probot {
  return new Probot({
    appId: APP_ID,
    privateKey: appPrivateKey(),
    secret: WEBHOOK_SECRET,
    log: opts.log ?? pino({ level: "silent" }),
    ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}),
    Octokit:
      opts.Octokit ?? ProbotOctokit.defaults({ retry: { enabled: false }, throttle: { enabled: false } }),
  });
}
