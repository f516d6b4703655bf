// GitHub's errors, translated: our code GITHUB_ERROR with a message that names what prenv was
// doing and, for 403 and 404, what to check. The request error itself stays the cause.
import { PrenvError } from "../../errors.js";

export function status(err: unknown): number | undefined {
  return typeof err === "object" && err !== null && "status" in err
    ? (err as { status: number }).status
    : undefined;
}

export function githubError(err: unknown, what: string): PrenvError {
  if (err instanceof PrenvError) return err;
  const code = status(err);
  const hint =
    code === 403 || code === 404
      ? " Check the GitHub App's permissions (see app.yml) and that it is installed on this repository."
      : "";
  return new PrenvError(
    "GITHUB_ERROR",
    `GitHub API ${code ?? "request"} failed while trying to ${what}.${hint}`,
    { cause: err },
  );
}
