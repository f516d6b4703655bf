// Why an environment's workloads are not ready, in the kubelet's words: failing pods (how each
// container last ended, OOMKilled, probes that fail) with the last log lines of the run that failed,
// and recent warning events.
import {
  CoreV1Api,
  type CoreV1Event,
  type KubeConfig,
  type V1ContainerStateTerminated,
  type V1ContainerStatus,
  type V1Pod,
} from "@kubernetes/client-node";
import type { FailureReport, PodDiagnosis } from "../../environment/ports.js";
import { retrying } from "./retry.js";

/** Failing pods (at most 5, with their last log lines) and recent warning events, per namespace. */
export async function diagnoseNamespaces(kc: KubeConfig, namespaces: string[]): Promise<FailureReport> {
  const core = kc.makeApiClient(CoreV1Api);
  const report: FailureReport = { pods: [], events: [] };
  for (const namespace of namespaces.slice(0, 5)) {
    const [pods, events] = await Promise.all([
      retrying(() => core.listNamespacedPod({ namespace })),
      retrying(() => core.listNamespacedEvent({ namespace, fieldSelector: "type=Warning" })),
    ]);
    const unhealthy = pods.items.filter((p) => !podReady(p)).slice(0, 5 - report.pods.length);
    for (const p of unhealthy) report.pods.push(await diagnosePod(core, namespace, p, events.items));
    report.events.push(...recentEvents(events.items));
  }
  report.events = report.events.slice(0, 10);
  return report;
}

async function diagnosePod(
  core: CoreV1Api,
  namespace: string,
  p: V1Pod,
  warnings: CoreV1Event[],
): Promise<PodDiagnosis> {
  const name = p.metadata?.name ?? "?";
  const problem = podProblem(p);
  const bad = problem.container;
  // The logs of the run that failed: the current one when it ended or runs unready, else the
  // previous one (a container waiting to be restarted).
  const current = Boolean(bad?.state?.terminated) || problem.reason === NOT_READY;
  const previous = !current && Boolean(bad?.lastState?.terminated);
  let logs: string | null = null;
  if (bad && (current || previous)) {
    logs = await core
      .readNamespacedPodLog({
        name,
        namespace,
        container: bad.name,
        tailLines: 20,
        limitBytes: 4096,
        previous,
      })
      .then((text) => text || null)
      .catch(() => null);
  }
  let message = problem.message;
  if (problem.reason === NOT_READY) {
    // The kubelet says why in its probe events ("Readiness probe failed: HTTP probe failed ...").
    const probe = newest(warnings.filter((e) => e.involvedObject.name === name && e.reason === "Unhealthy"));
    if (probe?.message) message = `${message}: ${probe.message}`;
  }
  return { name, reason: problem.reason, message: message.slice(0, 500), logs };
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

/** The reason given to a pod whose containers run but fail their readiness probe. */
export const NOT_READY = "NotReady";

function containerProblem(statuses: V1ContainerStatus[]): PodProblem | null {
  for (const c of statuses) {
    const waiting = c.state?.waiting;
    if (waiting) {
      const message = waiting.message ?? `container ${c.name} is waiting`;
      // A container waiting to restart (CrashLoopBackOff) says why it last stopped: OOMKilled...
      const last = c.lastState?.terminated;
      return {
        reason: waiting.reason ?? "Waiting",
        message: last ? `${exitedWith(c, last)}; ${message}` : message,
        container: c,
      };
    }
    const terminated = c.state?.terminated;
    if (terminated && terminated.exitCode !== 0) {
      return { reason: terminated.reason ?? "Error", message: exitedWith(c, terminated), container: c };
    }
  }
  const unready = statuses.find((c) => c.state?.running && !c.ready);
  if (unready) {
    const message = `container ${unready.name} is running but not ready`;
    return { reason: NOT_READY, message, container: unready };
  }
  return null;
}

function exitedWith(c: V1ContainerStatus, t: V1ContainerStateTerminated): string {
  const why =
    t.reason === "OOMKilled"
      ? " (OOMKilled: it used more memory than its limit)"
      : t.reason
        ? ` (${t.reason})`
        : "";
  const restarts =
    c.restartCount > 0 ? `, restarted ${c.restartCount} time${c.restartCount > 1 ? "s" : ""}` : "";
  return `container ${c.name} exited with code ${t.exitCode}${why}${restarts}`;
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

function podReady(p: V1Pod): boolean {
  if (p.status?.phase === "Succeeded") return true;
  return p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

const eventTime = (e: CoreV1Event) =>
  new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? 0).getTime();

function newest(events: CoreV1Event[]): CoreV1Event | undefined {
  return [...events].sort((a, b) => eventTime(b) - eventTime(a))[0];
}

function recentEvents(events: CoreV1Event[]): FailureReport["events"] {
  return [...events]
    .sort((a, b) => eventTime(b) - eventTime(a))
    .slice(0, 10)
    .map((e) => ({
      object: `${e.involvedObject.kind ?? "?"}/${e.involvedObject.name ?? "?"}`,
      reason: e.reason ?? "",
      message: (e.message ?? "").slice(0, 500),
    }));
}
