// The shape of Kubernetes objects as prenv handles them: what a manifest turns into, what prenv's
// own templates render, and how an applied object is remembered for pruning. Below both manifests/
// and environment/, so that neither has to import the other for a type.

/** A Kubernetes object as prenv handles it. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/** Reference to an applied object, as stored for pruning. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  /** Only inside a virtual cluster, where objects may live in several namespaces (or none). */
  namespace?: string;
}
