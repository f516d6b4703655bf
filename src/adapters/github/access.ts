// AccessGitHub on Octokit, with nothing but prenv's GitHub App's OAuth client credentials and the
// caller's own token (the kubeconfig function never holds the App's private key):
// - check-a-token (`POST /applications/{client_id}/token`, basic auth client_id:client_secret)
//   says whether a token is a user access token of prenv's App, and whose;
// - that token then reads the repository (the user's role) and the pull request, as GitHub shows
//   them to a user's token of the App: only where both the user and the App have access.
// Neither token is stored or logged.
import { ProbotOctokit } from "probot";
import type { AccessGitHub } from "../../access/issue.js";
import type { RepoRole } from "../../environment/ports.js";
import { PrenvError } from "../../errors.js";
import { status } from "./errors.js";
import { GitHubPullRequest } from "./pull-request.js";

export interface OAuthClient {
  /** GitHub's REST API, e.g. https://api.github.com or https://ghe.example.com/api/v3. */
  baseUrl: string;
  /** The GitHub App's client id and client secret (App settings, "Client secrets"). */
  clientId: string;
  clientSecret: string;
}

const SILENT = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
// A user waits for the answer: one attempt, no throttling queue (GitHub's answer is final here).
const ONCE = { retry: { enabled: false }, throttle: { enabled: false } };

export class GitHubAccess implements AccessGitHub {
  constructor(
    private readonly client: OAuthClient,
    private readonly opts: { appId?: number } = {},
  ) {}

  async userOf(token: string): Promise<string | null> {
    const { baseUrl, clientId, clientSecret } = this.client;
    const octokit = new ProbotOctokit({ baseUrl, log: SILENT, ...ONCE });
    try {
      const { data } = await octokit.request("POST /applications/{client_id}/token", {
        client_id: clientId,
        access_token: token,
        headers: { authorization: `basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}` },
      });
      // The answer names the App the token belongs to: ours, or it would have been a 404.
      if (data.app?.client_id !== clientId || !data.user || data.user.type !== "User") return null;
      return data.user.login;
    } catch (err) {
      const code = status(err);
      // 404: not a live token of this App (GitHub answers the same for wrong client credentials);
      // 422: GitHub would not take it as a token at all.
      if (code === 404 || code === 422) return null;
      throw new PrenvError(
        "GITHUB_ERROR",
        `GitHub API ${code ?? "request"} failed while checking a user's token (check-a-token).`,
        { cause: err },
      );
    }
  }

  asUser(token: string, target: { owner: string; repo: string; number: number }) {
    const octokit = new ProbotOctokit({
      auth: { token },
      baseUrl: this.client.baseUrl,
      log: SILENT,
      ...ONCE,
    });
    const pr = new GitHubPullRequest(octokit, { ...target, installationId: 0 });
    return {
      role: async (): Promise<RepoRole> => {
        try {
          const { data } = await octokit.rest.repos.get({ owner: target.owner, repo: target.repo });
          return roleOf(data.permissions);
        } catch (err) {
          if (status(err) === 404) return "none";
          throw new PrenvError(
            "GITHUB_ERROR",
            `GitHub API ${status(err) ?? "request"} failed while reading ${target.owner}/${target.repo} with a user's token.`,
            { cause: err },
          );
        }
      },
      getPull: () => pr.getPull(),
    };
  }
}

/** The user's role from the `permissions` GitHub returns with a repository for their token. */
function roleOf(
  p: { admin?: boolean; maintain?: boolean; push?: boolean; triage?: boolean; pull?: boolean } | undefined,
): RepoRole {
  if (p?.admin) return "admin";
  if (p?.maintain) return "maintain";
  if (p?.push) return "write";
  if (p?.triage) return "triage";
  if (p?.pull) return "read";
  return "none";
}
