// A stable key for a Kubernetes object in tests: `group/Kind/namespace/name`.
import type { KubeObject } from "../../src/manifests/objects.js";

/**
 * A stable identity for an applied object, for pruning: `group/Kind/namespace/name`, with `core`
 * for the legacy group and an empty namespace for cluster-scoped objects. The API version is left
 * out on purpose: moving a manifest from `v1beta1` to `v1` does not make it another object.
 */
export function objectKey(o: Pick<KubeObject, "apiVersion" | "kind" | "metadata">): string {
  const slash = o.apiVersion.lastIndexOf("/");
  const group = slash === -1 ? "core" : o.apiVersion.slice(0, slash);
  return `${group}/${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}
