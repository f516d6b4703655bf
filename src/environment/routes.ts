// prenv's own routes for one environment, applied as the bot: with `routing: gateway` an HTTPRoute
// for the preview URL and, for a virtual cluster, a TLSRoute to its API, both on the operator's
// Gateway; with `routing: ingress` the virtual cluster API's Ingress (the preview's Ingress is the
// tenant's, templates/ingress.yaml.hbs). Switching modes removes the other mode's objects on the
// next deploy, so environments made before Gateway API move over by themselves.
import { createHash } from "node:crypto";
import type { KubeObject, ObjectRef } from "../manifests/objects.js";
import { VCLUSTER_NAME } from "./accounts.js";
import type { OpenCtx } from "./context.js";
import { yamlObjects } from "./guards.js";
import { appliedLabels } from "./record.js";

export const PREVIEW_ROUTE = "prenv-preview";
export const API_ROUTE = "prenv-vcluster-api";
const GATEWAY_API = "gateway.networking.k8s.io/v1";
/** The virtual cluster's API Service port (templates/vcluster.yaml.hbs). */
const API_PORT = 443;

export type RouteObjects = { ok: true; objects: KubeObject[] } | { ok: false; problem: string };

/** prenv's routes for this environment, given the PR's own (checked) objects. */
export function routeObjects(ctx: OpenCtx, tenant: KubeObject[]): RouteObjects {
  const { deps, namespace, config, host, apiHost } = ctx;
  const { routing } = deps.settings;
  const vcluster = config.isolation === "vcluster";
  let preview: { host: string; service: string; port: number; path: string } | null = null;
  if (routing.mode === "gateway" && config.url) {
    const port = servicePort(tenant, config.url.service, config.url.port);
    if (typeof port === "string") return { ok: false, problem: port };
    const service = vcluster
      ? syncedName(config.url.service, serviceNamespace(tenant, config.url.service))
      : config.url.service;
    preview = { host, service, port, path: config.url.path };
  }
  const text = deps.templates.guards.routes({
    mode: routing.mode,
    namespace,
    labels: appliedLabels(),
    gateway: routing.gateway,
    preview,
    api: vcluster ? { host: apiHost, service: VCLUSTER_NAME, port: API_PORT } : null,
    ingressClass: deps.settings.ingressClass,
    apiAnnotations:
      Object.keys(routing.apiIngressAnnotations).length > 0 ? routing.apiIngressAnnotations : null,
  });
  return { ok: true, objects: yamlObjects(text, "templates/routes.yaml.hbs") };
}

/** prenv's routes on the Gateway for this environment (gateway mode), whose status says whether it took them. */
export function gatewayRoutes(ctx: OpenCtx): ObjectRef[] {
  if (ctx.deps.settings.routing.mode !== "gateway") return [];
  return [
    ...(ctx.config.url ? [{ apiVersion: GATEWAY_API, kind: "HTTPRoute", name: PREVIEW_ROUTE }] : []),
    ...(ctx.config.isolation === "vcluster"
      ? [{ apiVersion: GATEWAY_API, kind: "TLSRoute", name: API_ROUTE }]
      : []),
  ];
}

/**
 * What prenv made in the other routing mode (or in an older release), to delete on this deploy.
 * The preview's own Ingress of `routing: ingress` is the tenant's and is pruned with its objects.
 */
export function staleRoutes(mode: "gateway" | "ingress", vcluster: boolean): ObjectRef[] {
  const ingress = { apiVersion: "networking.k8s.io/v1", kind: "Ingress", name: API_ROUTE };
  const http = { apiVersion: GATEWAY_API, kind: "HTTPRoute", name: PREVIEW_ROUTE };
  const tls = { apiVersion: GATEWAY_API, kind: "TLSRoute", name: API_ROUTE };
  if (mode === "gateway") return vcluster ? [ingress] : [ingress, tls];
  return vcluster ? [http, tls] : [http, tls, ingress];
}

/**
 * The port number of `url.port` on the Service in the PR's objects: a Gateway route names Service
 * ports by number only. A string is the problem to report.
 */
function servicePort(objects: KubeObject[], service: string, port: number | string): number | string {
  if (typeof port === "number") return port;
  const svc = objects.find((o) => o.kind === "Service" && o.metadata.name === service);
  const ports = (
    (svc?.spec as { ports?: { name?: unknown; port?: unknown }[] } | undefined)?.ports ?? []
  ).filter((p) => typeof p.port === "number");
  const found = ports.find((p) => p.name === port);
  if (found) return found.port as number;
  return svc
    ? `url.port is ${port}, but the Service ${service} in your manifests has no port of that name; use the port's number or one of: ${ports.map((p) => String(p.name ?? p.port)).join(", ")}.`
    : `url.port names the port ${port}, but your manifests have no Service ${service} to look it up in; give url.port as a number.`;
}

/** The namespace (inside a virtual cluster) of the Service the preview URL routes to. */
export function serviceNamespace(objects: KubeObject[], service: string): string {
  const svc = objects.find((o) => o.kind === "Service" && o.metadata.name === service);
  return svc?.metadata.namespace || "default";
}

/**
 * The name the pinned vcluster release gives a virtual cluster's object in its host namespace:
 * `<name>-x-<namespace>-x-<vcluster>`, or beyond 63 characters its first 52, a dash and 10 hex
 * digits of the whole name's SHA-256.
 */
export function syncedName(name: string, namespace: string): string {
  const full = [name, "x", namespace, "x", VCLUSTER_NAME].join("-");
  if (full.length <= 63) return full;
  return `${full.slice(0, 52)}-${createHash("sha256").update(full).digest("hex").slice(0, 10)}`.replaceAll(
    ".-",
    "-",
  );
}

/** Applies prenv's routes as the bot and removes what the other routing mode had made. */
export async function applyRoutes(ctx: OpenCtx, objects: KubeObject[]): Promise<void> {
  const { deps, namespace, config } = ctx;
  await deps.cluster.applyAsBot(objects);
  await deps.cluster.deleteAsBot(
    namespace,
    staleRoutes(deps.settings.routing.mode, config.isolation === "vcluster"),
  );
}
