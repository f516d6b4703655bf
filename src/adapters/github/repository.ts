// Repository-level GitHub look-ups for the janitor: one paginated list of open pull requests per
// repository instead of one request per environment.
import { status, type Octokit } from "./pull-request.js";

/** Open PR numbers, or null when the repository is gone or the App can no longer see it. */
export async function openPullNumbers(
  octokit: Octokit,
  owner: string,
  repo: string,
): Promise<Set<number> | null> {
  try {
    const pulls = await octokit.paginate(octokit.rest.pulls.list, {
      owner,
      repo,
      state: "open",
      per_page: 100,
    });
    return new Set(pulls.map((p) => p.number));
  } catch (err) {
    if (status(err) === 404 || status(err) === 403) return null;
    throw err;
  }
}
