// Workloads in an environment, on client-node: sleeping and waking them, and whether they are
// ready (why not: diagnosis.ts).
import { ApiException, type AppsV1Api, type V1Deployment, type V1StatefulSet } from "@kubernetes/client-node";
import { VCLUSTER_MANAGED_BY, VCLUSTER_NAME } from "../../environment/accounts.js";
import type { ScaleResult } from "../../environment/ports.js";
import { REPLICAS_BEFORE_SLEEP } from "../../environment/record.js";
import type { PrenvError } from "../../errors.js";
import type { ObjectRef } from "../../manifests/objects.js";
import type { RawKube } from "./raw.js";
import { retrying } from "./retry.js";
import type { PollOptions } from "./virtual.js";

type Translate = (err: unknown, what: string) => PrenvError;

/**
 * Sleep: every Deployment and StatefulSet to 0 replicas, the count before kept in the workload's
 * REPLICAS_BEFORE_SLEEP annotation. Wake: back to that count. `api` acts as the tenant; each
 * workload is patched (replicas and the annotation) with one merge patch.
 */
export interface ScaleOptions {
  translate: Translate;
  poll: PollOptions;
}

export async function scaleWorkloads(
  api: RawKube,
  namespace: string,
  to: "sleep" | "wake",
  how: ScaleOptions,
): Promise<ScaleResult> {
  const { translate } = how;
  const changed: ScaleResult["changed"] = [];
  for (const [kind, plural] of [
    ["Deployment", "deployments"],
    ["StatefulSet", "statefulsets"],
  ] as const) {
    let list: {
      items: {
        metadata: { name: string; annotations?: Record<string, string> };
        spec?: { replicas?: number };
      }[];
    };
    try {
      list = (await api.request("GET", `/apis/apps/v1/namespaces/${namespace}/${plural}`)) as typeof list;
    } catch (err) {
      throw translate(err, `list ${plural} in ${namespace}`);
    }
    for (const w of list.items) {
      const current = w.spec?.replicas ?? 1;
      const target = scaleTarget(to, current, w.metadata.annotations?.[REPLICAS_BEFORE_SLEEP]);
      if (target === null) continue;
      const path = `/apis/apps/v1/namespaces/${namespace}/${plural}/${w.metadata.name}`;
      const annotations = { [REPLICAS_BEFORE_SLEEP]: to === "sleep" ? String(current) : null };
      try {
        await api.request("PATCH", path, {
          body: { metadata: { annotations }, spec: { replicas: target } },
          contentType: "application/merge-patch+json",
        });
      } catch (err) {
        throw translate(err, `scale ${kind}/${w.metadata.name}`);
      }
      changed.push({ kind, name: w.metadata.name, from: current, to: target });
    }
  }
  if (to === "sleep") await deleteSyncedPods(api, namespace, how);
  return { changed };
}

/**
 * A virtual cluster scaled to zero leaves the pods it synced to the host running: delete them
 * (as vcluster's own pause does); waking the virtual cluster recreates what it still knows.
 * Only once its control plane has stopped: while the syncer runs (its pod's grace period), it
 * recreates every host pod of a virtual pod that is deleted.
 */
async function deleteSyncedPods(api: RawKube, namespace: string, how: ScaleOptions): Promise<void> {
  const base = `/api/v1/namespaces/${namespace}/pods`;
  const list = async (selector: string) =>
    (
      (await api.request("GET", `${base}?labelSelector=${encodeURIComponent(selector)}`)) as {
        items: { metadata: { name: string } }[];
      }
    ).items;
  const { poll } = how;
  try {
    const synced = `${VCLUSTER_MANAGED_BY}=${VCLUSTER_NAME}`;
    if ((await list(synced)).length === 0) return;
    const deadline = poll.now() + CONTROL_PLANE_STOP_MS;
    while ((await list(`app=vcluster,release=${VCLUSTER_NAME}`)).length > 0 && poll.now() < deadline) {
      await poll.sleep(poll.pollMs);
    }
    for (const p of await list(synced)) {
      await api.request("DELETE", `${base}/${encodeURIComponent(p.metadata.name)}`).catch((err: unknown) => {
        if (!(err instanceof ApiException && err.code === 404)) throw err;
      });
    }
  } catch (err) {
    throw how.translate(err, `delete the virtual cluster's pods in ${namespace}`);
  }
}

/** How long sleep waits for a virtual cluster's control plane to stop (its grace period is 15 s). */
const CONTROL_PLANE_STOP_MS = 60_000;

/** Whether a Deployment or StatefulSet is ready ("failed": it will not become ready). */
export async function workloadReady(
  apps: AppsV1Api,
  namespace: string,
  w: ObjectRef,
  translate: Translate,
): Promise<boolean | "failed"> {
  try {
    if (w.kind === "Deployment") {
      return deploymentReady(
        await retrying(() => apps.readNamespacedDeployment({ name: w.name, namespace })),
      );
    }
    return statefulSetReady(
      await retrying(() => apps.readNamespacedStatefulSet({ name: w.name, namespace })),
    );
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return false;
    throw translate(err, `read ${w.kind}/${w.name}`);
  }
}

export function deploymentReady(d: V1Deployment): boolean | "failed" {
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  if (s.conditions?.some((c) => c.type === "Progressing" && c.reason === "ProgressDeadlineExceeded")) {
    return "failed";
  }
  const observed = (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1);
  return (
    observed &&
    (s.updatedReplicas ?? 0) >= want &&
    (s.availableReplicas ?? 0) >= want &&
    (s.replicas ?? 0) === want
  );
}

export function statefulSetReady(st: V1StatefulSet): boolean {
  const want = st.spec?.replicas ?? 1;
  const s = st.status ?? { replicas: 0 };
  const observed = (s.observedGeneration ?? 0) >= (st.metadata?.generation ?? 1);
  const revision = want === 0 || s.currentRevision === s.updateRevision;
  return observed && (s.readyReplicas ?? 0) >= want && (s.updatedReplicas ?? want) >= want && revision;
}

/** Replicas to scale to, or null when there is nothing to do. */
export function scaleTarget(
  to: "sleep" | "wake",
  current: number,
  remembered: string | undefined,
): number | null {
  if (to === "sleep") return current === 0 ? null : 0;
  const before = Number(remembered);
  return remembered !== undefined && Number.isInteger(before) && before >= 0 ? before : null;
}
