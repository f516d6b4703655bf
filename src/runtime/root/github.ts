// prenv's GitHub App as Probot runs it: its id and key, and GitHub's API URL from the settings
// (PRENV_GITHUB_API_URL, or Probot's GHE_HOST), the same for `npm start`, the CLI and Lambda.
import { Probot, ProbotOctokit, type Options } from "probot";
import type { Logger as Pino } from "pino";
import { rateLimits } from "../../adapters/github/rate-limit.js";
import type { Settings } from "../settings.js";
import type { AppCredentials } from "./secrets.js";

/**
 * The Octokit class prenv's App uses everywhere. GitHub's rate limits are honoured by
 * adapters/github/rate-limit.ts (which says why Probot's throttling is off); the retry plugin still
 * retries 5xx answers, but not 429s, whose wait GitHub names.
 */
export const AppOctokit = ProbotOctokit.plugin(rateLimits).defaults(
  (options: ConstructorParameters<typeof ProbotOctokit>[0] = {}) => {
    const throttle = (options.throttle ?? {}) as Record<string, unknown>;
    const retry = options.retry ?? {};
    return {
      ...options,
      throttle: { ...throttle, enabled: false },
      retry: { ...retry, doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451] },
    };
  },
);

export function probotOptions(
  settings: Pick<Settings, "github">,
  app: AppCredentials & { webhookSecret?: string | undefined },
  log: Pino,
): Options {
  return {
    appId: app.appId,
    privateKey: app.privateKey,
    ...(app.webhookSecret ? { secret: app.webhookSecret } : {}),
    baseUrl: settings.github.apiUrl,
    Octokit: AppOctokit,
    log: log.child({ name: "probot" }),
  };
}

export function appProbot(settings: Pick<Settings, "github">, app: AppCredentials, log: Pino): Probot {
  return new Probot(probotOptions(settings, app, log));
}
