// The real Probot for tests and benchmarks: the test App's id, key and webhook secret, Octokit
// pointed at `baseUrl` (the GitHub stand-in) with retries and throttling off, so an unexpected
// answer fails at once instead of being retried into a timeout. `Octokit` replaces that class
// (a benchmark that measures time runs the one production uses).
import { Probot, ProbotOctokit } from "probot";
import { pino, type Logger } from "pino";
import { APP_ID, WEBHOOK_SECRET, appPrivateKey } from "./app-key.js";

/**
 * Retries and throttling off. Options given to `defaults()` as an object do not do it: Probot
 * passes its own `throttle` options to the constructor, which replace them (writes were still
 * spaced, issue comments 3 s apart); a function sees those options and has the last word.
 */
const TestOctokit = ProbotOctokit.defaults((options: ConstructorParameters<typeof ProbotOctokit>[0] = {}) => {
  const throttle = (options.throttle ?? {}) as Record<string, unknown>;
  const retry = options.retry ?? {};
  return { ...options, throttle: { ...throttle, enabled: false }, retry: { ...retry, enabled: false } };
});

export function testProbot(
  opts: { baseUrl?: string; log?: Logger; Octokit?: typeof ProbotOctokit } = {},
): Probot {
  return new Probot({
    appId: APP_ID,
    privateKey: appPrivateKey(),
    secret: WEBHOOK_SECRET,
    log: opts.log ?? pino({ level: "silent" }),
    ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}),
    Octokit: opts.Octokit ?? TestOctokit,
  });
}
