// applyEach sends one wave's objects at once, a bounded number in flight, and reports refusals in
// the manifests' order whatever order the answers come in.
import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { APPLY_CONCURRENCY, applyEach } from "../../../src/adapters/kubernetes/raw.js";
import { PrenvError } from "../../../src/errors.js";
import type { KubeObject } from "../../../src/manifests/objects.js";

const objects = (n: number): KubeObject[] =>
  Array.from({ length: n }, (_, i) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: `cm-${i}` },
  }));
const translate = (err: unknown, what: string) => new PrenvError("CLUSTER_ERROR", `${what}: ${String(err)}`);
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));
const refusal = (name: string) => new ApiException(422, "refused", { message: `${name} is invalid` }, {});

describe("applyEach", () => {
  it(`keeps at most ${APPLY_CONCURRENCY} requests in flight and returns results in the objects' order`, async () => {
    let inFlight = 0;
    let most = 0;
    const result = await applyEach(
      objects(30),
      { dryRun: true, who: "The cluster" },
      async (o) => {
        most = Math.max(most, ++inFlight);
        // Later objects answer sooner: the order of answers is not the order of objects.
        await tick(30 - Number(o.metadata.name.slice(3)));
        inFlight--;
        return o.metadata.name;
      },
      translate,
    );
    expect(most).toBe(APPLY_CONCURRENCY);
    expect(result).toEqual(objects(30).map((o) => o.metadata.name));
  });

  it("checks every object in a dry run and names the refused ones in the objects' order", async () => {
    const err = await applyEach(
      objects(12),
      { dryRun: true, who: "The cluster" },
      async (o) => {
        const i = Number(o.metadata.name.slice(3));
        await tick(12 - i);
        if (i === 2 || i === 9) throw refusal(o.metadata.name);
      },
      translate,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrenvError);
    expect((err as PrenvError).message).toBe(
      "The cluster refused 2 object(s): ConfigMap/cm-2: cm-2 is invalid; ConfigMap/cm-9: cm-9 is invalid",
    );
  });

  it("starts no further object in a real apply once one is refused", async () => {
    const started: number[] = [];
    await expect(
      applyEach(
        objects(30),
        { dryRun: false, who: "The cluster" },
        async (o) => {
          const i = Number(o.metadata.name.slice(3));
          started.push(i);
          await tick(5);
          if (i === 0) throw refusal(o.metadata.name);
        },
        translate,
      ),
    ).rejects.toMatchObject({ code: "MANIFEST_INVALID" });
    expect(started.length).toBeLessThan(30);
  });

  it("translates what is not a refusal", async () => {
    await expect(
      applyEach(
        objects(3),
        { dryRun: true, who: "The cluster", where: " in the virtual cluster" },
        () => Promise.reject(new Error("ECONNRESET")),
        translate,
      ),
    ).rejects.toMatchObject({
      code: "CLUSTER_ERROR",
      message: expect.stringMatching(/^apply ConfigMap\/cm-0 in the virtual cluster/) as unknown,
    });
  });
});
