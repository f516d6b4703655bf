// Applies a multi-document YAML file with server-side apply, as the harness's own field manager.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { loadKubeConfig } from "../../../src/adapters/kubernetes/kubeconfig.js";
import { RawKube } from "../../../src/adapters/kubernetes/raw.js";

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

export async function applyManifestFile(
  kubeconfigPath: string,
  context: string | undefined,
  file: string,
): Promise<void> {
  const raw = new RawKube(loadKubeConfig(kubeconfigPath, context));
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    const obj = doc.toJS() as Obj | null;
    if (obj) await raw.apply(obj, { fieldManager: "prenv-test-harness", force: true });
  }
}
