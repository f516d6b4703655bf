// Workloads in an environment, on client-node: sleeping and waking them, whether they are ready,
// and why not (failing pods with their last log lines, warning events).
import {
  ApiException,
  type AppsV1Api,
  CoreV1Api,
  type CoreV1Event,
  type KubeConfig,
  type V1ContainerStatus,
  type V1Deployment,
  type V1Pod,
  type V1StatefulSet,
} from "@kubernetes/client-node";
import { VCLUSTER_MANAGED_BY, VCLUSTER_NAME } from "../../environment/accounts.js";
import type { FailureReport, PodDiagnosis, ScaleResult } from "../../environment/ports.js";
import { REPLICAS_BEFORE_SLEEP } from "../../environment/record.js";
import type { PrenvError } from "../../errors.js";
import type { ObjectRef } from "../../manifests/objects.js";
import type { RawKube } from "./raw.js";

type Translate = (err: unknown, what: string) => PrenvError;

/**
 * Sleep: every Deployment and StatefulSet to 0 replicas, the count before kept in the workload's
 * REPLICAS_BEFORE_SLEEP annotation. Wake: back to that count. `api` acts as the tenant; each
 * workload is patched (replicas and the annotation) with one merge patch.
 */
export async function scaleWorkloads(
  api: RawKube,
  namespace: string,
  to: "sleep" | "wake",
  translate: Translate,
): Promise<ScaleResult> {
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
  if (to === "sleep") await deleteSyncedPods(api, namespace, translate);
  return { changed };
}

/**
 * A virtual cluster scaled to zero leaves the pods it synced to the host running: delete them
 * (as vcluster's own pause does); waking the virtual cluster recreates what it still knows.
 */
async function deleteSyncedPods(api: RawKube, namespace: string, translate: Translate): Promise<void> {
  const selector = encodeURIComponent(`${VCLUSTER_MANAGED_BY}=${VCLUSTER_NAME}`);
  const base = `/api/v1/namespaces/${namespace}/pods`;
  try {
    const pods = (await api.request("GET", `${base}?labelSelector=${selector}`)) as {
      items: { metadata: { name: string } }[];
    };
    for (const p of pods.items) {
      await api.request("DELETE", `${base}/${encodeURIComponent(p.metadata.name)}`).catch((err: unknown) => {
        if (!(err instanceof ApiException && err.code === 404)) throw err;
      });
    }
  } catch (err) {
    throw translate(err, `delete the virtual cluster's pods in ${namespace}`);
  }
}

/** Whether a Deployment or StatefulSet is ready ("failed": it will not become ready). */
export async function workloadReady(
  apps: AppsV1Api,
  namespace: string,
  w: ObjectRef,
  translate: Translate,
): Promise<boolean | "failed"> {
  try {
    if (w.kind === "Deployment") {
      return deploymentReady(await apps.readNamespacedDeployment({ name: w.name, namespace }));
    }
    return statefulSetReady(await apps.readNamespacedStatefulSet({ name: w.name, namespace }));
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return false;
    throw translate(err, `read ${w.kind}/${w.name}`);
  }
}

/** Failing pods (at most 5, with their last log lines) and recent warning events, per namespace. */
export async function diagnoseNamespaces(kc: KubeConfig, namespaces: string[]): Promise<FailureReport> {
  const core = kc.makeApiClient(CoreV1Api);
  const report: FailureReport = { pods: [], events: [] };
  for (const namespace of namespaces.slice(0, 5)) {
    const [pods, events] = await Promise.all([
      core.listNamespacedPod({ namespace }),
      core.listNamespacedEvent({ namespace, fieldSelector: "type=Warning" }),
    ]);
    const unhealthy = pods.items.filter((p) => !podReady(p)).slice(0, 5 - report.pods.length);
    for (const p of unhealthy) report.pods.push(await diagnosePod(core, namespace, p));
    report.events.push(...recentEvents(events.items));
  }
  report.events = report.events.slice(0, 10);
  return report;
}

async function diagnosePod(core: CoreV1Api, namespace: string, p: V1Pod): Promise<PodDiagnosis> {
  const name = p.metadata?.name ?? "?";
  const problem = podProblem(p);
  const bad = problem.container;
  let logs: string | null = null;
  if (bad && (bad.restartCount > 0 || bad.state?.terminated)) {
    logs = await core
      .readNamespacedPodLog({
        name,
        namespace,
        container: bad.name,
        tailLines: 20,
        limitBytes: 4096,
        previous: bad.restartCount > 0,
      })
      .catch(() => null);
  }
  return { name, reason: problem.reason, message: problem.message.slice(0, 500), logs };
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

interface PodProblem {
  reason: string;
  message: string;
  container: V1ContainerStatus | undefined;
}

/** Why a pod is not ready, in the words kubectl would use. */
export function podProblem(p: V1Pod): PodProblem {
  const statuses = [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])];
  return containerProblem(statuses) ?? schedulingProblem(p);
}

function containerProblem(statuses: V1ContainerStatus[]): PodProblem | null {
  for (const c of statuses) {
    const waiting = c.state?.waiting;
    if (waiting) {
      return {
        reason: waiting.reason ?? "Waiting",
        message: waiting.message ?? `container ${c.name} is waiting`,
        container: c,
      };
    }
    const terminated = c.state?.terminated;
    if (terminated && terminated.exitCode !== 0) {
      const message = `container ${c.name} exited with code ${terminated.exitCode}`;
      return { reason: terminated.reason ?? "Error", message, container: c };
    }
  }
  return null;
}

function schedulingProblem(p: V1Pod): PodProblem {
  const scheduled = p.status?.conditions?.find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False") {
    const message = scheduled.message ?? "the pod could not be scheduled";
    return { reason: scheduled.reason ?? "Unschedulable", message, container: undefined };
  }
  if (!p.spec?.nodeName) {
    return {
      reason: "Pending",
      message: "the pod has not been scheduled to a node yet",
      container: undefined,
    };
  }
  return { reason: p.status?.phase ?? "Unknown", message: "the pod is not ready", container: undefined };
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

function podReady(p: V1Pod): boolean {
  if (p.status?.phase === "Succeeded") return true;
  return p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

function recentEvents(events: CoreV1Event[]): FailureReport["events"] {
  const time = (e: CoreV1Event) =>
    new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? 0).getTime();
  return [...events]
    .sort((a, b) => time(b) - time(a))
    .slice(0, 10)
    .map((e) => ({
      object: `${e.involvedObject.kind ?? "?"}/${e.involvedObject.name ?? "?"}`,
      reason: e.reason ?? "",
      message: (e.message ?? "").slice(0, 500),
    }));
}
