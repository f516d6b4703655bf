// Applies objects (or a multi-document YAML file) with server-side apply, as the harness's own
// field manager.
import type { KubeConfig } from "@kubernetes/client-node";
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { loadKubeConfig } from "../../../src/adapters/kubernetes/kubeconfig.js";
import { RawKube } from "../../../src/adapters/kubernetes/raw.js";

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

export async function applyObjects(kc: KubeConfig, objects: object[]): Promise<void> {
  const raw = new RawKube(kc);
  for (const obj of objects) await raw.apply(obj as Obj, { fieldManager: "prenv-test-harness", force: true });
}

export async function applyManifestFile(
  kubeconfigPath: string,
  context: string | undefined,
  file: string,
): Promise<void> {
  const objects = parseAllDocuments(readFileSync(file, "utf8"))
    .map((doc) => doc.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
  await applyObjects(loadKubeConfig(kubeconfigPath, context), objects);
}
