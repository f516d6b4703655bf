// prenv's own error type. The message is safe to post on a pull request; the cause (a vendor
// error, a stack) stays internal and goes to the logs only.

export type ErrorCode =
  /** `.github/prenv.yml` is not valid. */
  | "CONFIG_INVALID"
  /** The PR's manifests were refused by prenv's checks or by a server-side dry run. */
  | "MANIFEST_INVALID"
  /** Deployments/StatefulSets did not become ready in time. */
  | "ROLLOUT_FAILED"
  /** A check named in `deploy.waitForChecks` failed. */
  | "CHECKS_FAILED"
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

/** What to do with a failed reconcile, per code: one place decides. */
export interface ErrorPolicy {
  /** Tell the PR (comment, check run, deployment status). */
  report: boolean;
  /** Retry the job later (transient). */
  retry: boolean;
}

export function policyFor(code: ErrorCode): ErrorPolicy {
  switch (code) {
    case "CONFIG_INVALID":
    case "MANIFEST_INVALID":
    case "ROLLOUT_FAILED":
    case "CHECKS_FAILED":
      return { report: true, retry: false };
    case "CLUSTER_FORBIDDEN":
      return { report: true, retry: false };
    case "CLUSTER_UNREACHABLE":
    case "CLUSTER_ERROR":
    case "GITHUB_ERROR":
    case "VCLUSTER_NOT_READY":
      return { report: false, retry: true };
  }
}

export function isPrenvError(err: unknown): err is PrenvError {
  return err instanceof PrenvError;
}
