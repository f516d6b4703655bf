// The host cluster's credentials: EKS (DescribeCluster and STS-presigned tokens, as the function's
// own role) when PRENV_EKS_CLUSTER is set, else the kubeconfig's context (`npm start`, the CLI,
// `npm run offline`).
import type { KubeConfig } from "@kubernetes/client-node";
import { loadKubeConfig } from "../../adapters/kubernetes/kubeconfig.js";
import type { Settings } from "../settings.js";

export function localKubeConfig(settings: Settings, context = settings.kubeContext): KubeConfig {
  return loadKubeConfig(settings.kubeconfigPath, context);
}

export async function clusterKubeConfig(
  settings: Settings,
  context = settings.kubeContext,
): Promise<KubeConfig> {
  const cluster = settings.aws.eksCluster;
  if (!cluster) return localKubeConfig(settings, context);
  const { eksKubeConfig } = await import("./eks.js");
  return eksKubeConfig(settings.aws.region, cluster);
}
