// The host cluster's Kubernetes version, as `helm template --kube-version` takes it (v1.34.4), read
// once per process from the API server's /version (any authenticated identity may read it).
import { VersionApi, type KubeConfig } from "@kubernetes/client-node";
import { PrenvError } from "../../errors.js";

export function serverVersion(kubeConfig: KubeConfig): () => Promise<string> {
  let known: Promise<string> | null = null;
  return () => {
    known ??= kubeConfig
      .makeApiClient(VersionApi)
      .getCode()
      .then((info) => {
        const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(info.gitVersion);
        if (match) return `v${match[1]}.${match[2]}.${match[3]}`;
        const minor = info.minor.replace(/\D+$/, "");
        return `v${info.major}.${minor}.0`;
      })
      .catch((err: unknown) => {
        known = null;
        throw new PrenvError("CLUSTER_UNREACHABLE", "could not read the host cluster's Kubernetes version", {
          cause: err,
        });
      });
    return known;
  };
}
