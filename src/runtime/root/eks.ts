// An EKS cluster's kubeconfig, with tokens presigned by the function's own role.
import { EKSClient } from "@aws-sdk/client-eks";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import type { KubeConfig } from "@kubernetes/client-node";
import { eksKubeConfig as build } from "../../adapters/aws/eks-token.js";

export function eksKubeConfig(region: string, clusterName: string): Promise<KubeConfig> {
  return build({ eks: new EKSClient({ region }), clusterName, region, credentials: defaultProvider() });
}
