// The order of a PR's apply: every dry run before anything is applied, then waves in dependency
// order; a refusal in the dry run applies nothing, a refusal in a wave starts no later wave.
import { describe, expect, it } from "vitest";
import { applyAll, applyWaves } from "../../../src/environment/apply.js";
import type { WorkloadCluster } from "../../../src/environment/ports.js";
import { PrenvError } from "../../../src/errors.js";
import type { KubeObject } from "../../../src/manifests/objects.js";

const obj = (kind: string, name = kind.toLowerCase()): KubeObject => ({
  apiVersion: "v1",
  kind,
  metadata: { name },
});

/** A target that logs each call and refuses objects named in `refuse` (dry run or real). */
function target(refuse: { dry?: string[]; real?: string[] } = {}) {
  const calls: string[] = [];
  const cluster: WorkloadCluster = {
    apply: (objects, { dryRun }) => {
      calls.push(`${dryRun ? "dry" : "apply"} ${objects.map((o) => o.metadata.name).join(",")}`);
      const refused = objects.filter((o) => (dryRun ? refuse.dry : refuse.real)?.includes(o.metadata.name));
      if (refused.length > 0) return Promise.reject(new PrenvError("MANIFEST_INVALID", "refused"));
      return Promise.resolve(
        objects.map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name })),
      );
    },
    established: (crds) => Promise.resolve(void calls.push(`established ${crds.join(",")}`)),
    delete: () => Promise.resolve(),
    rolloutState: () => Promise.resolve({ ready: true }),
    diagnose: () => Promise.resolve({ pods: [], events: [] }),
  };
  return {
    cluster,
    calls,
    record: (refs: unknown[]) => Promise.resolve(void calls.push(`record ${refs.length}`)),
  };
}

describe("applyWaves", () => {
  it("orders config, Services and routes, workloads, then everything else, keeping the manifests' order within a wave", () => {
    const objects = [
      obj("Ingress"),
      obj("Deployment", "web"),
      obj("Service", "web-svc"),
      obj("ConfigMap", "a"),
      obj("Certificate"),
      obj("ServiceAccount"),
      obj("StatefulSet", "db"),
      obj("ConfigMap", "b"),
    ];
    expect(applyWaves(objects).map((w) => w.map((o) => o.metadata.name))).toEqual([
      ["a", "serviceaccount", "b"],
      ["ingress", "web-svc"],
      ["web", "db"],
      ["certificate"],
    ]);
  });

  it("leaves out empty waves", () => {
    expect(applyWaves([obj("Deployment")]).map((w) => w.length)).toEqual([1]);
    expect(applyWaves([])).toEqual([]);
  });
});

describe("applyAll", () => {
  it("dry-runs every object at once, records them, then applies wave after wave", async () => {
    const t = target();
    const result = await applyAll(
      t.cluster,
      [obj("Deployment", "web"), obj("Service", "svc"), obj("ConfigMap", "cm")],
      t.record,
    );
    expect(result.ok).toBe(true);
    expect(t.calls).toEqual(["dry web,svc,cm", "record 3", "apply cm", "apply svc", "apply web"]);
  });

  it("puts namespaces and CustomResourceDefinitions first, and waits until the CRDs are served", async () => {
    const t = target();
    await applyAll(
      t.cluster,
      [obj("Widget", "w"), obj("CustomResourceDefinition", "widgets.x"), obj("Namespace", "ns")],
      t.record,
    );
    expect(t.calls).toEqual([
      "dry widgets.x,ns",
      "record 2",
      "apply widgets.x,ns",
      "established widgets.x",
      "dry w",
      "record 3",
      "apply w",
    ]);
  });

  it("applies nothing when the dry run refuses an object", async () => {
    const t = target({ dry: ["svc"] });
    const result = await applyAll(t.cluster, [obj("Service", "svc"), obj("ConfigMap", "cm")], t.record);
    expect(result).toEqual({ ok: false, problems: ["refused"] });
    expect(t.calls).toEqual(["dry svc,cm"]);
  });

  it("starts no later wave once one is refused, and says part of the commit was applied", async () => {
    const t = target({ real: ["svc"] });
    const result = await applyAll(
      t.cluster,
      [obj("Deployment", "web"), obj("Service", "svc"), obj("ConfigMap", "cm")],
      t.record,
    );
    expect(result).toMatchObject({
      ok: false,
      detail: expect.stringContaining("Part of this commit") as unknown,
    });
    expect(t.calls).toEqual(["dry web,svc,cm", "record 3", "apply cm", "apply svc"]);
  });
});
