// prenv's own error type. The message is safe to post on a pull request; the cause (a vendor
// error, a stack) stays internal and goes to the logs only.

export type ErrorCode =
  /** The PR's manifests were refused by prenv's checks or by a server-side dry run. */
  | "MANIFEST_INVALID"
  /** The host cluster could not be reached. */
  | "CLUSTER_UNREACHABLE"
  /** The bot's own identity lacks a permission it needs (an operator problem). */
  | "CLUSTER_FORBIDDEN"
  /** Any other Kubernetes API failure. */
  | "CLUSTER_ERROR"
  /** A GitHub API call failed. */
  | "GITHUB_ERROR"
  /** The environment's virtual cluster is not up (yet). */
  | "VCLUSTER_NOT_READY";

export class PrenvError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PrenvError";
    this.code = code;
  }
}

/**
 * What happens to a job that failed, by the code of its error: the one table every path follows
 * (the local queue of `npm start` and the SQS batch of the worker Lambda; see
 * src/runtime/failures.ts).
 * - `retry`: transient. The job runs again later; when its attempts run out, the PR is told that
 *   prenv gave up (on AWS the job then goes to the dead-letter queue).
 * - `report`: retrying cannot help (an operator or the PR's author must act). The PR is told at
 *   once, with the error's message, and the job is dropped.
 */
export type FailureAction = "retry" | "report";

export const ERROR_POLICY: Readonly<Record<ErrorCode, FailureAction>> = {
  MANIFEST_INVALID: "report",
  CLUSTER_FORBIDDEN: "report",
  CLUSTER_UNREACHABLE: "retry",
  CLUSTER_ERROR: "retry",
  GITHUB_ERROR: "retry",
  VCLUSTER_NOT_READY: "retry",
};

/** Errors that are not PrenvErrors (a bug, an untranslated vendor error) count as transient. */
export function failureAction(err: unknown): FailureAction {
  return isPrenvError(err) ? ERROR_POLICY[err.code] : "retry";
}

export function isPrenvError(err: unknown): err is PrenvError {
  return err instanceof PrenvError;
}
