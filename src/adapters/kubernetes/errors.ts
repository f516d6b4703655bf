// Kubernetes API errors, translated into prenv's codes with messages that say what to fix.
import { ApiException } from "@kubernetes/client-node";
import { PrenvError } from "../../errors.js";
import { statusMessage } from "./raw.js";

/**
 * Vendor error → PrenvError with an operator-facing message naming what to fix. `server` is the API
 * server prenv tried to reach (for "cannot reach").
 */
export function translateKubeError(err: unknown, what: string, server: string | undefined): PrenvError {
  if (err instanceof PrenvError) return err;
  if (err instanceof ApiException) {
    const msg = statusMessage(err);
    if (err.code === 401) {
      return new PrenvError(
        "CLUSTER_FORBIDDEN",
        `Kubernetes rejected prenv's credentials while trying to ${what}; check KUBECONFIG/KUBE_CONTEXT (or the EKS access entry).`,
        { cause: err },
      );
    }
    if (err.code === 403) {
      return new PrenvError(
        "CLUSTER_FORBIDDEN",
        `prenv lacks a Kubernetes permission to ${what}: ${msg}. Apply deploy/rbac.yaml and bind the bot to the prenv-bot group.`,
        { cause: err },
      );
    }
    return new PrenvError(
      "CLUSTER_ERROR",
      `Kubernetes API error (HTTP ${err.code}) while trying to ${what}: ${msg}`,
      { cause: err },
    );
  }
  const code =
    (err as { code?: string; cause?: { code?: string } })?.cause?.code ?? (err as { code?: string })?.code;
  return new PrenvError(
    "CLUSTER_UNREACHABLE",
    `Cannot reach the Kubernetes API at ${server ?? "(no server in kubeconfig)"} to ${what}${code ? ` (${code})` : ""}; check KUBECONFIG and KUBE_CONTEXT.`,
    { cause: err },
  );
}
