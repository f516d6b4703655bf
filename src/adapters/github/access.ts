// AccessGitHub on Octokit: who is behind a user's token (with that token, and nothing else), the
// App's installation on a repository (as the App), and the PR and the user's role (as that
// installation). The user's token is used for `GET /user` only and never stored or logged.
import { Octokit as RestOctokit } from "@octokit/rest";
import type { Probot } from "probot";
import type { AccessGitHub } from "../../access/issue.js";
import type { PrRef } from "../../environment/ports.js";
import { PrenvError } from "../../errors.js";
import { GitHubPullRequest, status } from "./pull-request.js";

export class GitHubAccess implements AccessGitHub {
  constructor(
    private readonly probot: Probot,
    private readonly opts: { appId?: number } = {},
  ) {}

  async userOf(token: string): Promise<string | null> {
    // The same GitHub (github.com or an Enterprise Server) as the App's own requests.
    const baseUrl = (await this.probot.auth()).request.endpoint.DEFAULTS.baseUrl;
    const octokit = new RestOctokit({
      auth: token,
      baseUrl,
      log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    });
    try {
      const { data } = await octokit.rest.users.getAuthenticated();
      return data.type === "User" && data.login ? data.login : null;
    } catch (err) {
      const code = status(err);
      if (code === 401 || code === 403) return null;
      throw new PrenvError(
        "GITHUB_ERROR",
        `GitHub API ${code ?? "request"} failed while identifying a user.`,
        {
          cause: err,
        },
      );
    }
  }

  async installationOf(owner: string, repo: string): Promise<number | null> {
    try {
      const app = await this.probot.auth();
      const { data } = await app.rest.apps.getRepoInstallation({ owner, repo });
      return data.id;
    } catch (err) {
      if (status(err) === 404) return null;
      throw new PrenvError(
        "GITHUB_ERROR",
        `GitHub API ${status(err) ?? "request"} failed while finding the App's installation on ${owner}/${repo}.`,
        { cause: err },
      );
    }
  }

  forPullRequest(ref: PrRef) {
    const pr = this.probot
      .auth(ref.installationId)
      .then((octokit) => new GitHubPullRequest(octokit, ref));
    // Not awaited until used; a failure surfaces at the first call.
    pr.catch(() => undefined);
    return {
      getPull: async () => (await pr).getPull(),
      permissionOf: async (login: string) => (await pr).permissionOf(login),
    };
  }
}
