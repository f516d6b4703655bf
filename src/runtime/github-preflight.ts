// Start-up check of the GitHub connection every entry point shares (settings.github.apiUrl: from
// PRENV_GITHUB_API_URL, or Probot's GHE_HOST and GHE_PROTOCOL): one request as the App, no retries,
// a time limit. Without it an unreachable or wrong API URL costs minutes of Octokit's retries per
// repository before anything says what is wrong.
import type { Probot } from "probot";

export const GITHUB_CHECK_TIMEOUT_MS = 10_000;

const FIX = "check PRENV_GITHUB_API_URL, or GHE_HOST and GHE_PROTOCOL";

/** Resolves when GitHub's API at `apiUrl` answers as prenv's App; else one line saying what to fix. */
export async function checkGitHub(
  probot: Pick<Probot, "auth">,
  apiUrl: string,
  timeoutMs = GITHUB_CHECK_TIMEOUT_MS,
): Promise<void> {
  let status: number | undefined;
  let cause = "";
  try {
    const app = await probot.auth();
    await app.request("GET /app", {
      request: { retries: 0, signal: AbortSignal.timeout(timeoutMs) },
    });
    return;
  } catch (err) {
    const e = err as { status?: number; response?: unknown; name?: string; message?: string };
    status = e.response ? e.status : undefined;
    cause =
      e.name === "TimeoutError" || /aborted|timeout/i.test(e.message ?? "") ? "no answer" : (e.message ?? "");
  }
  if (status === 401 || status === 403) {
    throw new Error(
      `GitHub's API at ${apiUrl} refused the App (HTTP ${status}): check APP_ID and the private key (PRIVATE_KEY or PRIVATE_KEY_PATH)`,
    );
  }
  if (status !== undefined) {
    throw new Error(`GitHub's API at ${apiUrl} answered HTTP ${status} to GET /app: ${FIX}`);
  }
  throw new Error(
    `cannot reach GitHub's API at ${apiUrl} (${cause === "no answer" ? `no answer within ${Math.round(timeoutMs / 1000)} s` : cause}): ${FIX}`,
  );
}
