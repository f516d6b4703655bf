// A pull request's own Gateway API objects. HTTPRoutes are allowed, held to the preview: hostnames
// within the preview host (never a wildcard, never none, which would take every host of the
// listener), the operator's Gateway as the only parent, and backends in the route's own namespace
// (another namespace's Service would need a ReferenceGrant there, which no preview may give).
// Every other Gateway API kind is the operator's. deploy/policy.yaml holds the same rules for
// whatever else creates routes in a preview namespace.
import type { KubeObject } from "../manifests/objects.js";
import type { GatewayRef } from "./ports.js";

const GROUP = "gateway.networking.k8s.io";
/** API groups of Gateway API (standard, and experimental kinds such as XListenerSet). */
const GROUPS = [GROUP, "gateway.networking.x-k8s.io"];

interface ParentRef {
  group?: unknown;
  kind?: unknown;
  namespace?: unknown;
  name?: unknown;
}

interface BackendRef {
  group?: unknown;
  kind?: unknown;
  namespace?: unknown;
  name?: unknown;
}

interface RouteSpec {
  parentRefs?: ParentRef[];
  hostnames?: unknown[];
  rules?: { backendRefs?: BackendRef[]; filters?: { requestMirror?: { backendRef?: BackendRef } }[] }[];
}

/** A value from the manifest as text: strings as they are, anything else as JSON. */
const text = (v: unknown): string => (typeof v === "string" ? v : (JSON.stringify(v) ?? "undefined"));
const show = (v: unknown) => JSON.stringify(text(v)).slice(0, 80);

/** Problems of the PR's Gateway API objects, one line each, naming the object and the fix. */
export function routeProblems(objects: KubeObject[], host: string, gateway: GatewayRef): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    if (!GROUPS.some((g) => o.apiVersion.startsWith(`${g}/`))) continue;
    const what = `${o.kind}/${o.metadata.name}`;
    if (o.kind !== "HTTPRoute" || !o.apiVersion.startsWith(`${GROUP}/`)) {
      problems.push(
        `${what}: a preview may create HTTPRoutes only; the Gateway and the other route kinds are the operator's.`,
      );
      continue;
    }
    const spec = (o.spec ?? {}) as RouteSpec;
    const namespace = o.metadata.namespace;
    problems.push(...hostnameProblems(what, spec.hostnames, host));
    problems.push(...parentProblems(what, spec.parentRefs, gateway));
    const backends = (spec.rules ?? []).flatMap((r) => [
      ...(r.backendRefs ?? []),
      ...(r.filters ?? []).flatMap((f) => (f.requestMirror?.backendRef ? [f.requestMirror.backendRef] : [])),
    ]);
    for (const b of backends) {
      if (b.namespace !== undefined && b.namespace !== namespace) {
        problems.push(
          `${what}: backend ${show(b.name)} in namespace ${show(b.namespace)} is outside this preview (it would need a ReferenceGrant there); route to a Service of your own.`,
        );
      }
      if ((b.kind !== undefined && b.kind !== "Service") || (b.group !== undefined && b.group !== "")) {
        problems.push(`${what}: backend ${show(b.name)} is not a Service; route to a Service of your own.`);
      }
    }
  }
  return problems;
}

function hostnameProblems(what: string, hostnames: unknown[] | undefined, host: string): string[] {
  if (!hostnames || hostnames.length === 0) {
    return [
      `${what}: without hostnames it would take every host of the shared Gateway; set hostnames: ["{{host}}"] (${host}) or a subdomain of it.`,
    ];
  }
  return hostnames.flatMap((h) => {
    if (typeof h === "string" && h.startsWith("*")) {
      return [
        `${what}: the wildcard hostname ${show(h)} is refused; name {{host}} (${host}) or each subdomain of it.`,
      ];
    }
    return typeof h === "string" && (h === host || h.endsWith(`.${host}`))
      ? []
      : [
          `${what}: hostname ${show(h)} is not this preview's host; use {{host}} (${host}) or a subdomain of it.`,
        ];
  });
}

function parentProblems(what: string, parents: ParentRef[] | undefined, gateway: GatewayRef): string[] {
  const expected = `parentRefs: [{ namespace: ${gateway.namespace}, name: ${gateway.name} }]`;
  if (!parents || parents.length === 0) return [`${what}: it names no Gateway; set ${expected}.`];
  return parents.flatMap((p) => {
    const ok =
      (p.group === undefined || p.group === GROUP) &&
      (p.kind === undefined || p.kind === "Gateway") &&
      p.namespace === gateway.namespace &&
      p.name === gateway.name;
    return ok
      ? []
      : [
          `${what}: parent ${show(`${text(p.namespace ?? "(this namespace)")}/${text(p.name)}`)} is not this installation's Gateway; set ${expected}.`,
        ];
  });
}
