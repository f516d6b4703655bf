import { describe, expect, it } from "vitest";
import type { EnvironmentRecord } from "../../../src/environment/ports.js";
import { readRecord, refKey, stateWrite, type EnvState } from "../../../src/environment/record.js";

// The keys as they are on a namespace (the record module keeps them private).
const STATE = { phase: "prenv.dev/state", applied: "prenv.dev/applied-objects" };

function onNamespace(annotations: Record<string, string>): EnvironmentRecord {
  return { name: "ns", phase: "Active", labels: {}, annotations };
}
const encodeState = (s: EnvState) => stateWrite(s).annotations;
const decodeState = (annotations: Record<string, string>) => readRecord(onNamespace(annotations)).state;

describe("environment state on namespace annotations", () => {
  it("round-trips", () => {
    const state = {
      phase: "ready" as const,
      deployedSha: "a".repeat(40),
      configHash: "0123456789abcdef",
      applied: [{ apiVersion: "apps/v1", kind: "Deployment", name: "web" }],
    };
    expect(decodeState(encodeState(state))).toEqual(state);
  });

  it("round-trips a rollout in progress with when it began; a settled one keeps no start", () => {
    const rolling = {
      phase: "rolling-out" as const,
      deployedSha: "b".repeat(40),
      configHash: "0123456789abcdef",
      applied: [{ apiVersion: "apps/v1", kind: "Deployment", name: "web" }],
      rolloutSince: new Date("2026-05-01T10:00:00.000Z"),
    };
    expect(decodeState(encodeState(rolling))).toEqual(rolling);
    expect(encodeState({ ...rolling, phase: "ready" })).not.toHaveProperty(["prenv.dev/rollout-since"]);
    expect(decodeState(encodeState({ ...rolling, phase: "ready" }))).not.toHaveProperty("rolloutSince");
  });

  it.each([
    ["no state at all", {}],
    ["an unknown phase", { [STATE.phase]: "sleeping" }],
    ["applied objects that are not JSON", { [STATE.phase]: "ready", [STATE.applied]: "{" }],
    ["applied objects that are not a list", { [STATE.phase]: "ready", [STATE.applied]: "{}" }],
  ])("treats %s as no state (forces a redeploy)", (_name, annotations) => {
    expect(decodeState(annotations)).toBeNull();
  });

  it("drops malformed entries of the applied list instead of pruning something wrong", () => {
    const s = decodeState({
      [STATE.phase]: "ready",
      [STATE.applied]: JSON.stringify([["v1", "ConfigMap", "a"], ["v1", 3], "x"]),
    });
    expect(s?.applied).toEqual([{ apiVersion: "v1", kind: "ConfigMap", name: "a" }]);
  });
});

describe("refKey", () => {
  it("ignores the API version, so a version bump is not pruned as a removed object", () => {
    expect(refKey({ apiVersion: "autoscaling/v1", kind: "HorizontalPodAutoscaler", name: "a" })).toBe(
      refKey({ apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", name: "a" }),
    );
    expect(refKey({ apiVersion: "v1", kind: "ConfigMap", name: "a" })).not.toBe(
      refKey({ apiVersion: "v1", kind: "Secret", name: "a" }),
    );
  });
});

describe("objects inside a virtual cluster", () => {
  it("keep their namespace through the state annotation, and a cluster-scoped one keeps none", () => {
    const state = {
      phase: "ready" as const,
      deployedSha: "b".repeat(40),
      configHash: "0123456789abcdef",
      applied: [
        { apiVersion: "v1", kind: "ConfigMap", name: "a", namespace: "shop" },
        {
          apiVersion: "apiextensions.k8s.io/v1",
          kind: "CustomResourceDefinition",
          name: "x.acme.dev",
          namespace: "",
        },
        { apiVersion: "v1", kind: "ConfigMap", name: "b" },
      ],
    };
    expect(decodeState(encodeState(state))).toEqual(state);
  });

  it("tells apart objects of the same kind and name in different namespaces", () => {
    const a = refKey({ apiVersion: "v1", kind: "ConfigMap", name: "a", namespace: "one" });
    const b = refKey({ apiVersion: "v1", kind: "ConfigMap", name: "a", namespace: "two" });
    expect(a).not.toBe(b);
  });
});
