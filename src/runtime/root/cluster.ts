// The host cluster adapter, with the operator's settings for virtual clusters and kubeconfigs.
import type { KubeConfig } from "@kubernetes/client-node";
import { KubernetesCluster } from "../../adapters/kubernetes/cluster.js";
import type { Settings } from "../settings.js";

export function hostCluster(kubeConfig: KubeConfig, settings: Settings): KubernetesCluster {
  return new KubernetesCluster(kubeConfig, {
    virtualAddress: settings.environment.vcluster.apiAddress,
    hostServer: settings.environment.access.hostServer,
    gatewayAddress: settings.environment.routing.address,
  });
}
