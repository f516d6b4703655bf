// Repository-level GitHub look-ups for the janitor: one paginated list of open pull requests per
// repository instead of one request per environment.
import type { Probot } from "probot";
import { githubError, status } from "./errors.js";
import type { Octokit } from "./pull-request.js";

/**
 * Open PR numbers and the repository's id (read from the PRs' base; null with no open PR), or null
 * when GitHub answers 404: the repository is gone, or the App's installation (its token request
 * answers 404 too). Anything else (a 5xx, a rate limit's 403 or 429) is thrown: it says nothing
 * about the repository.
 */
export async function openPullNumbers(
  octokit: Octokit,
  owner: string,
  repo: string,
): Promise<{ repoId: number | null; open: Set<number> } | null> {
  try {
    const pulls = await octokit.paginate(octokit.rest.pulls.list, {
      owner,
      repo,
      state: "open",
      per_page: 100,
    });
    return { repoId: pulls[0]?.base.repo.id ?? null, open: new Set(pulls.map((p) => p.number)) };
  } catch (err) {
    if (status(err) === 404) return null;
    throw githubError(err, `list the open pull requests of ${owner}/${repo}`);
  }
}

/**
 * The repository's id as GitHub reports it now, or null when it is gone or the App is not
 * installed on it (404 on the App's installation look-up or on the repository).
 */
export async function currentRepositoryId(
  probot: Pick<Probot, "auth">,
  owner: string,
  repo: string,
): Promise<number | null> {
  try {
    const app = await probot.auth();
    const { data: installation } = await app.rest.apps.getRepoInstallation({ owner, repo });
    const octokit = await probot.auth(installation.id);
    return (await octokit.rest.repos.get({ owner, repo })).data.id;
  } catch (err) {
    if (status(err) === 404) return null;
    throw githubError(err, `read the repository ${owner}/${repo}`);
  }
}
