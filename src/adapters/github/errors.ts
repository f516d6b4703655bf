// GitHub's errors, translated: our code GITHUB_ERROR with a message that names what prenv was
// doing and, for 403 and 404, what to check (or, for a rate limit, that it passes). The request
// error itself stays the cause.
import { PrenvError } from "../../errors.js";
import { rateLimitWait } from "./rate-limit.js";

export function status(err: unknown): number | undefined {
  return typeof err === "object" && err !== null && "status" in err
    ? (err as { status: number }).status
    : undefined;
}

export function githubError(err: unknown, what: string): PrenvError {
  if (err instanceof PrenvError) return err;
  const code = status(err);
  // A 403 (or 429) that is a rate limit says so: it is no permission to fix, and it passes.
  const hint =
    rateLimitWait(err, Date.now()) !== null
      ? " GitHub is limiting prenv's requests (a rate limit); the job is tried again later."
      : code === 403 || code === 404
        ? " Check the GitHub App's permissions (see app.yml) and that it is installed on this repository."
        : "";
  return new PrenvError(
    "GITHUB_ERROR",
    `GitHub API ${code ?? "request"} failed while trying to ${what}.${hint}`,
    { cause: err },
  );
}
