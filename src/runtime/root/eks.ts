// The host cluster's credentials for a Lambda function: EKS (DescribeCluster and STS-presigned
// tokens, as the function's own role) when PRENV_EKS_CLUSTER is set, else the kubeconfig's context
// (`npm run offline`, and the CLI's janitor).
import { EKSClient } from "@aws-sdk/client-eks";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import type { KubeConfig } from "@kubernetes/client-node";
import { eksKubeConfig } from "../../adapters/aws/eks-token.js";
import type { Settings } from "../settings.js";
import { localKubeConfig } from "./kube.js";

export function clusterKubeConfig(settings: Settings, context = settings.kubeContext): Promise<KubeConfig> {
  const { eksCluster: clusterName, region } = settings.aws;
  if (!clusterName) return Promise.resolve(localKubeConfig(settings, context));
  return eksKubeConfig({
    eks: new EKSClient({ region }),
    clusterName,
    region,
    credentials: defaultProvider(),
  });
}
