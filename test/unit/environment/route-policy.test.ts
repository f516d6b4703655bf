// A PR's own Gateway API objects: HTTPRoutes held to the preview host and the operator's Gateway,
// everything else of Gateway API refused, each with a message that says what to change.
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../../src/manifests/objects.js";
import { routeProblems } from "../../../src/environment/route-policy.js";

const host = "pr-7-acme-web-k5xq2w7mzt3b4hpa.preview.test";
const gateway = { namespace: "prenv-gateway", name: "prenv" };
const parent = { namespace: "prenv-gateway", name: "prenv" };

function route(
  spec: Record<string, unknown>,
  kind = "HTTPRoute",
  apiVersion = "gateway.networking.k8s.io/v1",
): KubeObject {
  return { apiVersion, kind, metadata: { name: "app", namespace: "pr-7" }, spec };
}

describe("a PR's HTTPRoutes", () => {
  it("pass with the preview host (or a subdomain), the operator's Gateway and a backend of their own", () => {
    expect(
      routeProblems(
        [
          route({
            parentRefs: [{ ...parent, sectionName: "previews" }],
            hostnames: [host, `api.${host}`],
            rules: [
              {
                backendRefs: [
                  { name: "web", port: 8080 },
                  { name: "api", namespace: "pr-7", port: 80 },
                ],
              },
            ],
          }),
        ],
        host,
        gateway,
      ),
    ).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      "a foreign hostname",
      { parentRefs: [parent], hostnames: ["shop.example.com"] },
      'hostname "shop.example.com" is not this preview\'s host',
    ],
    [
      "a look-alike hostname",
      { parentRefs: [parent], hostnames: [`x${host}`] },
      "is not this preview's host",
    ],
    ["a wildcard hostname", { parentRefs: [parent], hostnames: [`*.${host}`] }, "the wildcard hostname"],
    [
      "no hostnames",
      { parentRefs: [parent] },
      "without hostnames it would take every host of the shared Gateway",
    ],
    [
      "another Gateway",
      { parentRefs: [{ namespace: "prenv-gateway", name: "internal" }], hostnames: [host] },
      "is not this installation's Gateway",
    ],
    [
      "the Gateway without its namespace",
      { parentRefs: [{ name: "prenv" }], hostnames: [host] },
      "is not this installation's Gateway",
    ],
    [
      "a Service as parent",
      { parentRefs: [{ ...parent, kind: "Service", group: "" }], hostnames: [host] },
      "is not this installation's Gateway",
    ],
    ["no parent", { hostnames: [host] }, "it names no Gateway"],
    [
      "a cross-namespace backend",
      {
        parentRefs: [parent],
        hostnames: [host],
        rules: [{ backendRefs: [{ name: "db", namespace: "kube-system", port: 53 }] }],
      },
      'backend "db" in namespace "kube-system" is outside this preview (it would need a ReferenceGrant there)',
    ],
    [
      "a cross-namespace mirror",
      {
        parentRefs: [parent],
        hostnames: [host],
        rules: [
          {
            filters: [
              { type: "RequestMirror", requestMirror: { backendRef: { name: "spy", namespace: "other" } } },
            ],
          },
        ],
      },
      'backend "spy" in namespace "other" is outside this preview',
    ],
    [
      "a backend that is not a Service",
      {
        parentRefs: [parent],
        hostnames: [host],
        rules: [{ backendRefs: [{ name: "b", kind: "Bucket", group: "s3.example.com" }] }],
      },
      'backend "b" is not a Service',
    ],
  ])("are refused with %s", (_, spec, message) => {
    const problems = routeProblems([route(spec)], host, gateway);
    expect(problems.join("\n")).toContain(message);
    expect(problems.every((p) => p.startsWith("HTTPRoute/app: "))).toBe(true);
  });

  it.each([
    ["Gateway", "gateway.networking.k8s.io/v1"],
    ["ReferenceGrant", "gateway.networking.k8s.io/v1beta1"],
    ["TLSRoute", "gateway.networking.k8s.io/v1"],
    ["GRPCRoute", "gateway.networking.k8s.io/v1"],
    ["ListenerSet", "gateway.networking.k8s.io/v1"],
    ["XListenerSet", "gateway.networking.x-k8s.io/v1alpha1"],
  ])("other Gateway API kinds (%s) are the operator's", (kind, apiVersion) => {
    expect(routeProblems([route({}, kind, apiVersion)], host, gateway)).toEqual([
      `${kind}/app: a preview may create HTTPRoutes only; the Gateway and the other route kinds are the operator's.`,
    ]);
  });

  it("leaves other kinds alone", () => {
    expect(routeProblems([route({}, "Ingress", "networking.k8s.io/v1")], host, gateway)).toEqual([]);
  });
});
