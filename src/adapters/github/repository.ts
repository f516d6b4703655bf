// Repository-level GitHub look-ups for the janitor: one paginated list of open pull requests per
// repository instead of one request per environment.
import { status } from "./errors.js";
import type { Octokit } from "./pull-request.js";

/**
 * Open PR numbers and the repository's id (read from the PRs' base; null with no open PR), or null
 * when the repository is gone or the App can no longer see it.
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
    if (status(err) === 404 || status(err) === 403) return null;
    throw err;
  }
}
