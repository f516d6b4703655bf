// The host cluster's credentials from a kubeconfig and its context (`npm start`, the CLI,
// `npm run offline`); on AWS see eks.ts.
import type { KubeConfig } from "@kubernetes/client-node";
import { loadKubeConfig } from "../../adapters/kubernetes/kubeconfig.js";
import type { Settings } from "../settings.js";

export function localKubeConfig(settings: Settings, context = settings.kubeContext): KubeConfig {
  return loadKubeConfig(settings.kubeconfigPath, context);
}
