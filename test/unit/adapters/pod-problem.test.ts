// Why a pod is not ready, from the container statuses the kubelet writes (the shapes the test
// node produced for each failure kind; the cluster tier checks the same on a real kubelet).
import type { V1ContainerStatus, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { NOT_READY, podProblem } from "../../../src/adapters/kubernetes/cluster.js";

function pod(status: Partial<V1ContainerStatus>): V1Pod {
  return {
    spec: { nodeName: "node-1", containers: [{ name: "web" }] },
    status: {
      phase: "Running",
      containerStatuses: [{ name: "web", image: "x", imageID: "", ready: false, restartCount: 0, ...status }],
    },
  };
}

const exited = (exitCode: number, reason: string) => ({
  terminated: { exitCode, reason, startedAt: new Date(), finishedAt: new Date() },
});

describe("podProblem", () => {
  it.each<[string, Partial<V1ContainerStatus>, string, string]>([
    [
      "a container waiting to restart says how it last exited",
      {
        restartCount: 2,
        state: {
          waiting: { reason: "CrashLoopBackOff", message: "back-off 20s restarting failed container=web" },
        },
        lastState: exited(3, "Error"),
      },
      "CrashLoopBackOff",
      "container web exited with code 3 (Error), restarted 2 times; back-off 20s restarting failed container=web",
    ],
    [
      "a container killed for its memory says so, in words",
      {
        restartCount: 1,
        state: { waiting: { reason: "CrashLoopBackOff" } },
        lastState: exited(137, "OOMKilled"),
      },
      "CrashLoopBackOff",
      "container web exited with code 137 (OOMKilled: it used more memory than its limit), restarted 1 time; container web is waiting",
    ],
    [
      "a container that just exited, before the kubelet backs off",
      { restartCount: 0, state: exited(3, "Error") },
      "Error",
      "container web exited with code 3 (Error)",
    ],
    [
      "an image that cannot be pulled",
      {
        state: {
          waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "r.invalid/web:1"' },
        },
      },
      "ImagePullBackOff",
      'Back-off pulling image "r.invalid/web:1"',
    ],
    [
      "a running container that fails its readiness probe",
      { state: { running: { startedAt: new Date() } }, ready: false },
      NOT_READY,
      "container web is running but not ready",
    ],
  ])("%s", (_, status, reason, message) => {
    const p = podProblem(pod(status));
    expect(p.reason).toBe(reason);
    expect(p.message).toBe(message);
    expect(p.container?.name).toBe("web");
  });

  it("a running and ready container is no container problem", () => {
    const p = podProblem(pod({ state: { running: { startedAt: new Date() } }, ready: true }));
    expect(p).toMatchObject({ reason: "Running", message: "the pod is not ready", container: undefined });
  });

  it("a pod without a node is pending", () => {
    expect(podProblem({ spec: { containers: [] }, status: { phase: "Pending" } })).toMatchObject({
      reason: "Pending",
      container: undefined,
    });
  });
});
