// The list of objects a deploy applied, as the namespace records it (prenv.dev/applied-objects,
// record.ts): compact tuples, read back leniently, and the identity by which pruning compares them.
import type { ObjectRef } from "../manifests/objects.js";

/** `[apiVersion, kind, name]`, with the namespace as a fourth element inside a virtual cluster. */
export function encodeRefs(refs: ObjectRef[]): string {
  return JSON.stringify(
    refs.map((r) =>
      r.namespace === undefined
        ? [r.apiVersion, r.kind, r.name]
        : [r.apiVersion, r.kind, r.name, r.namespace],
    ),
  );
}

/** One entry of the applied list; malformed entries are dropped rather than pruning something wrong. */
export function decodeRef(r: unknown): ObjectRef[] {
  if (!Array.isArray(r) || r.length < 3 || r.length > 4 || !r.every((x) => typeof x === "string")) return [];
  const [apiVersion, kind, name, namespace] = r;
  return [
    { apiVersion: apiVersion!, kind: kind!, name: name!, ...(namespace !== undefined ? { namespace } : {}) },
  ];
}

/** Identity of an applied object for pruning: API group, not version (moving a manifest from v1beta1
 * to v1 does not prune what it just applied), and inside a virtual cluster the namespace. */
export function refKey(r: ObjectRef): string {
  const group = r.apiVersion.includes("/") ? r.apiVersion.slice(0, r.apiVersion.indexOf("/")) : "core";
  return `${group}/${r.kind}/${r.namespace === undefined ? "" : `${r.namespace}/`}${r.name}`;
}
