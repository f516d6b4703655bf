// What the PR is told when prenv stops working on one of its jobs: an error the policy says to
// report (src/errors.ts), or a transient one that outlasted every attempt.
import { isPrenvError } from "../errors.js";
import type { Report } from "./comment.js";

export type Stop =
  /** The policy says to report this error: it is not retried. */
  | { kind: "reported" }
  /** Retried until `attempts` ran out; on AWS the job went to the dead-letter queue. */
  | { kind: "gave-up"; attempts: number; deadLetter: boolean };

function detailOf(err: unknown, stop: Stop): string {
  const code = isPrenvError(err) ? err.code : "UNEXPECTED";
  if (stop.kind === "reported") {
    // Only prenv's own errors are reported; their messages are written to be posted.
    const message = isPrenvError(err) ? err.message : "prenv could not process this pull request.";
    return `${message} prenv does not retry this on its own (${code}); push a commit to try again once it is fixed.`;
  }
  const next = stop.deadLetter
    ? "The job was moved to the dead-letter queue and the operators are alerted; push a commit to try again once they have fixed it."
    : "Push a commit to try again; if it fails again, tell the prenv operators.";
  return `prenv could not process this pull request after ${stop.attempts} attempts (${code}). ${next}`;
}

/** `sha`: the PR's head, whose check run and Deployment, if in progress, end with the error. */
export function failureReport(err: unknown, stop: Stop, sha: string | null = null): Report {
  return {
    kind: "error",
    sha,
    url: null,
    namespace: null,
    expiresAt: null,
    detail: detailOf(err, stop),
    detailMarkdown: null,
    problems: [],
    failure: null,
  };
}
