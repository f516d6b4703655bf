// prenv's own routes: which objects each routing mode makes, the port an HTTPRoute names, the name a
// virtual cluster's Service has on the host, and what a switch of modes deletes.
import { describe, expect, it } from "vitest";
import { parseRepoConfig } from "../../../src/config/parse.js";
import type { OpenCtx } from "../../../src/environment/context.js";
import { routeObjects, staleRoutes, syncedName } from "../../../src/environment/routes.js";
import type { KubeObject } from "../../../src/manifests/objects.js";
import { loadTemplates } from "../../../src/runtime/templates.js";
import { testSettings } from "../../support/settings.js";

const templates = loadTemplates();
const ns = "pr-7-acme-web-k5xq2w7mzt3b4hpa";

/** The part of a job's context routeObjects reads. */
function ctx(config: Record<string, unknown>, settings: Record<string, string> = {}): OpenCtx {
  const parsed = parseRepoConfig(config);
  if (!parsed.ok) throw new Error("test config invalid");
  return {
    namespace: ns,
    host: `${ns}.preview.test`,
    apiHost: `${ns}.api.preview.test`,
    config: parsed.config,
    deps: { settings: testSettings({ PRENV_ROUTING: "gateway", ...settings }).environment, templates },
  } as unknown as OpenCtx;
}

const service = (name: string, ports: object[], namespace?: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, ...(namespace ? { namespace } : {}) },
  spec: { ports },
});

const kinds = (r: ReturnType<typeof routeObjects>) =>
  r.ok ? r.objects.map((o) => `${o.kind}/${o.metadata.name}`) : r.problem;

describe("prenv's routes", () => {
  it("gateway, namespace mode: one HTTPRoute to the url Service, its named port resolved to the number", () => {
    const r = routeObjects(ctx({ url: { service: "web", port: "http" } }), [
      service("web", [{ name: "http", port: 8080 }]),
    ]);
    expect(kinds(r)).toEqual(["HTTPRoute/prenv-preview"]);
    if (!r.ok) return;
    expect(r.objects[0]!.spec).toMatchObject({
      hostnames: [`${ns}.preview.test`],
      parentRefs: [{ namespace: "prenv-gateway", name: "prenv" }],
      rules: [{ backendRefs: [{ name: "web", port: 8080 }] }],
    });
  });

  it("a port name the Service does not have is a problem for the PR, naming the ports it has", () => {
    const r = routeObjects(ctx({ url: { service: "web", port: "http" } }), [
      service("web", [{ name: "web", port: 80 }]),
    ]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toContain("has no port of that name; use the port's number or one of: web");
  });

  it("gateway, vcluster mode: the HTTPRoute to the Service as the virtual cluster syncs it to the host, and a TLSRoute to its API", () => {
    const r = routeObjects(ctx({ isolation: "vcluster", url: { service: "shop", port: 80 } }), [
      service("shop", [{ port: 80 }], "store"),
    ]);
    expect(kinds(r)).toEqual(["HTTPRoute/prenv-preview", "TLSRoute/prenv-vcluster-api"]);
    if (!r.ok) return;
    expect(r.objects[0]!.spec).toMatchObject({
      rules: [{ backendRefs: [{ name: "shop-x-store-x-vcluster", port: 80 }] }],
    });
    expect(r.objects[1]!.spec).toMatchObject({
      hostnames: [`${ns}.api.preview.test`],
      rules: [{ backendRefs: [{ name: "vcluster", port: 443 }] }],
    });
  });

  it("no url: no HTTPRoute", () => {
    expect(kinds(routeObjects(ctx({}), []))).toEqual([]);
  });

  it("ingress mode: only the virtual cluster API's Ingress is prenv's (the preview's Ingress is the tenant's)", () => {
    expect(
      kinds(routeObjects(ctx({ url: { service: "web", port: 80 } }, { PRENV_ROUTING: "ingress" }), [])),
    ).toEqual([]);
    expect(
      kinds(
        routeObjects(
          ctx({ isolation: "vcluster", url: { service: "web", port: 80 } }, { PRENV_ROUTING: "ingress" }),
          [],
        ),
      ),
    ).toEqual(["Ingress/prenv-vcluster-api"]);
  });

  it("a switch of modes deletes what the other mode made", () => {
    const names = (refs: { kind: string; name: string }[]) => refs.map((r) => `${r.kind}/${r.name}`);
    expect(names(staleRoutes("gateway", false))).toEqual([
      "Ingress/prenv-vcluster-api",
      "TLSRoute/prenv-vcluster-api",
    ]);
    expect(names(staleRoutes("gateway", true))).toEqual(["Ingress/prenv-vcluster-api"]);
    expect(names(staleRoutes("ingress", true))).toEqual([
      "HTTPRoute/prenv-preview",
      "TLSRoute/prenv-vcluster-api",
    ]);
  });

  it.each([
    ["web", "default", "web-x-default-x-vcluster"],
    [
      "storefront",
      "a-rather-long-namespace-of-the-shop",
      "storefront-x-a-rather-long-namespace-of-the-shop-x-vcluster",
    ],
    // Over 63 characters: the first 52, a dash, 10 hex digits of the SHA-256 of the whole name (vcluster v0.36.1).
    [
      "storefront-web",
      "a-rather-long-namespace-of-the-shop-e2e",
      "storefront-web-x-a-rather-long-namespace-of-the-shop-db76efaaec",
    ],
  ])("%s in %s is %s on the host", (name, namespace, host) => {
    expect(syncedName(name, namespace)).toBe(host);
  });
});
