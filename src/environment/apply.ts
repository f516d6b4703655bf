// Applying a PR's objects, all or nothing: a server-side dry run of every object first, then the
// real apply in waves of objects that need nothing of each other (each wave's objects are sent at
// once, a bounded number in flight; see the adapters), in the order objects usually depend on one
// another: what pods mount or run as, then Services and routes, then workloads, then the rest.
// Inside a virtual cluster, namespaces and CustomResourceDefinitions come before all of it, with a
// wait until the new kinds are served.
import { PrenvError } from "../errors.js";
import type { KubeObject, ObjectRef } from "../manifests/objects.js";
import type { ClusterPort, WorkloadCluster } from "./ports.js";

/** Kinds other objects may need to exist first (inside a virtual cluster): applied, then the rest. */
const FOUNDATION_KINDS = new Set(["Namespace", "CustomResourceDefinition"]);
/** How long new CustomResourceDefinitions may take to be served. */
const CRD_TIMEOUT_MS = 60_000;

/** Waves after the foundation; kinds not named here (custom resources, webhook configurations...) go last. */
const WAVES: readonly (readonly string[])[] = [
  // What pods mount, run as, or are limited by.
  [
    "ServiceAccount",
    "ConfigMap",
    "Secret",
    "PersistentVolumeClaim",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "ResourceQuota",
    "LimitRange",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
  ],
  // Services, and the routes to them (a route names its Service; neither needs the other first).
  ["Service", "Ingress", "HTTPRoute", "GRPCRoute", "TLSRoute"],
  [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Pod",
    "Job",
    "CronJob",
    "HorizontalPodAutoscaler",
  ],
];

/** `objects` (foundation kinds excluded) in waves, each in the objects' own order; no empty wave. */
export function applyWaves(objects: KubeObject[]): KubeObject[][] {
  const waves: KubeObject[][] = WAVES.map(() => []);
  const rest: KubeObject[] = [];
  for (const o of objects) {
    const wave = WAVES.findIndex((kinds) => kinds.includes(o.kind));
    (wave < 0 ? rest : waves[wave]!).push(o);
  }
  return [...waves, rest].filter((w) => w.length > 0);
}

/** The host namespace as the target of a PR's objects, applied as its tenant service account. */
export function hostWorkloads(cluster: ClusterPort, namespace: string): WorkloadCluster {
  return {
    apply: async (objects, opts) => {
      await cluster.applyAsTenant(namespace, objects, opts);
      return objects.map(toRef);
    },
    established: () => Promise.resolve(),
    delete: (refs) => cluster.deleteAsTenant(namespace, refs),
    rolloutState: (workloads) => cluster.rolloutState(namespace, workloads),
    diagnose: () => cluster.diagnose(namespace),
  };
}

function toRef(o: KubeObject): ObjectRef {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name };
}

export type Applied = { ok: true; refs: ObjectRef[] } | { ok: false; problems: string[]; detail?: string };

/**
 * Dry run, record what is about to exist (`record`), apply. A refusal (MANIFEST_INVALID) is
 * returned with what it left behind; any other failure is thrown.
 */
export async function applyAll(
  target: WorkloadCluster,
  objects: KubeObject[],
  record: (refs: ObjectRef[]) => Promise<void>,
): Promise<Applied> {
  const foundation = objects.filter((o) => FOUNDATION_KINDS.has(o.kind));
  const rest = objects.filter((o) => !FOUNDATION_KINDS.has(o.kind));
  let stage: "checking" | "foundation" | "applying" = "checking";
  try {
    let first: ObjectRef[] = [];
    if (foundation.length > 0) {
      first = await target.apply(foundation, { dryRun: true });
      await record(first);
      stage = "foundation";
      for (const wave of applyWaves(foundation)) await target.apply(wave, { dryRun: false });
      const crds = foundation
        .filter((o) => o.kind === "CustomResourceDefinition")
        .map((o) => o.metadata.name);
      await target.established(crds, CRD_TIMEOUT_MS);
    }
    const refs = [...first, ...(await target.apply(rest, { dryRun: true }))];
    await record(refs);
    stage = "applying";
    for (const wave of applyWaves(rest)) await target.apply(wave, { dryRun: false });
    return { ok: true, refs };
  } catch (err) {
    if (!(err instanceof PrenvError) || err.code !== "MANIFEST_INVALID") throw err;
    const detail = {
      checking: undefined,
      foundation:
        "Only its namespaces and CustomResourceDefinitions were applied; nothing else of this commit was.",
      applying:
        "Part of this commit was applied before the cluster refused the rest; push a fix to deploy again.",
    }[stage];
    return { ok: false, problems: [err.message], ...(detail ? { detail } : {}) };
  }
}
