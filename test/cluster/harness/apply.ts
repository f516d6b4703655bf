// Applies a multi-document YAML file with server-side apply, as the harness's own field manager.
import { KubernetesObjectApi, PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { loadKubeConfig } from "../../../src/adapters/kubernetes/kubeconfig.js";

export async function applyManifestFile(
  kubeconfigPath: string,
  context: string | undefined,
  file: string,
): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(loadKubeConfig(kubeconfigPath, context));
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    const obj = doc.toJS() as KubernetesObject | null;
    if (!obj) continue;
    await api.patch(obj, undefined, undefined, "prenv-test-harness", true, PatchStrategy.ServerSideApply);
  }
}
