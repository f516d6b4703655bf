import { describe, expect, it } from "vitest";
import {
  costPerDay,
  decodeRequests,
  encodeRequests,
  formatCost,
  parseQuantity,
  requestsOf,
} from "../../../src/environment/cost.js";
import type { KubeObject } from "../../../src/manifests/objects.js";

describe("parseQuantity", () => {
  it.each<[string | number, number]>([
    ["500m", 0.5],
    ["2", 2],
    [1.5, 1.5],
    ["512Mi", 512 * 2 ** 20],
    ["1Gi", 2 ** 30],
    ["1G", 1e9],
    ["100k", 1e5],
    ["1e3", 1000],
  ])("%s", (q, expected) => {
    expect(parseQuantity(q)).toBeCloseTo(expected, 9);
  });

  it.each(["", "abc", "1Zi", "-1", "1.2.3", undefined, null, {}])("%s is unreadable", (q) => {
    expect(parseQuantity(q)).toBeNaN();
  });
});

function deployment(replicas: number | undefined, containers: object[]): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "x" },
    spec: { ...(replicas === undefined ? {} : { replicas }), template: { spec: { containers } } },
  };
}

describe("requestsOf", () => {
  const defaults = { cpu: "50m", memory: "64Mi" };

  it("sums container requests times replicas, with the LimitRange default for missing requests", () => {
    const r = requestsOf(
      [
        deployment(3, [{ resources: { requests: { cpu: "250m", memory: "256Mi" } } }, {}]),
        deployment(undefined, [{ resources: { requests: { cpu: "1" } } }]),
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } },
      ],
      defaults,
    );
    // 3 × (0.25 + 0.05) + 1 = 1.9 CPU; 3 × (256 + 64) Mi + 64 Mi = 1024 Mi = 1 GiB
    expect(r).toEqual({ cpu: 1.9, memoryGiB: 1 });
  });

  it("counts nothing for workloads scaled to zero", () => {
    expect(requestsOf([deployment(0, [{ resources: { requests: { cpu: "4" } } }])], defaults)).toEqual({
      cpu: 0,
      memoryGiB: 0,
    });
  });
});

describe("cost", () => {
  const prices = { cpuHour: 0.04, gibHour: 0.005, currency: "USD" };

  it("is 24 hours of the requests at the operator's prices", () => {
    expect(costPerDay({ cpu: 2, memoryGiB: 4 }, prices)).toBe(2.4);
    expect(formatCost({ cpu: 2, memoryGiB: 4 }, prices)).toBe("~2.40 USD/day (2 CPU, 4 GiB requested)");
  });

  it("round-trips the requests annotation and rejects anything else", () => {
    expect(decodeRequests(encodeRequests({ cpu: 1.25, memoryGiB: 0.5 }))).toEqual({
      cpu: 1.25,
      memoryGiB: 0.5,
    });
    expect(decodeRequests("cpu=1")).toBeNull();
    expect(decodeRequests(undefined)).toBeNull();
  });
});
