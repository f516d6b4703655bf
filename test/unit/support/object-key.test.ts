import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../../src/manifests/objects.js";
import { objectKey } from "../../support/object-key.js";

describe("objectKey", () => {
  const object = (apiVersion: string, kind: string, name: string, namespace?: string): KubeObject => ({
    apiVersion,
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}) },
  });

  it.each([
    [object("v1", "ConfigMap", "a", "ns"), "core/ConfigMap/ns/a"],
    [object("apps/v1", "Deployment", "web", "ns"), "apps/Deployment/ns/web"],
    [object("rbac.authorization.k8s.io/v1", "ClusterRole", "r"), "rbac.authorization.k8s.io/ClusterRole//r"],
  ])("%j → %s", (o, key) => {
    expect(objectKey(o)).toBe(key);
  });

  it("does not change when only the API version does", () => {
    expect(objectKey(object("autoscaling/v2", "HorizontalPodAutoscaler", "h", "ns"))).toBe(
      objectKey(object("autoscaling/v1", "HorizontalPodAutoscaler", "h", "ns")),
    );
  });
});
