// The cluster's edge as prenv checks it before it says "ready": the status a Gateway's controller
// wrote on prenv's routes, and what a preview URL answers through the data plane.
import { ApiException } from "@kubernetes/client-node";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { GatewayRef, RouteCondition, RouteView, RouteWait, UrlWait } from "../../environment/ports.js";
import type { ObjectRef } from "../../manifests/objects.js";
import type { RawKube } from "./raw.js";
import type { PollOptions } from "./virtual.js";

interface ParentStatus {
  parentRef?: { name?: string; namespace?: string; kind?: string };
  conditions?: Partial<RouteCondition>[];
}

/** The route's conditions for `gateway` (from status.parents), or a missing route. */
export async function readRoute(
  raw: RawKube,
  namespace: string,
  route: ObjectRef,
  gateway: GatewayRef,
): Promise<RouteView> {
  let obj: { status?: { parents?: ParentStatus[] } };
  try {
    const path = await raw.objectPath(route.apiVersion, route.kind, route.name, namespace);
    obj = (await raw.request("GET", path)) as typeof obj;
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return { route, exists: false, conditions: [] };
    throw err;
  }
  const parent = (obj.status?.parents ?? []).find(
    (p) =>
      p.parentRef?.name === gateway.name &&
      (p.parentRef.namespace ?? namespace) === gateway.namespace &&
      (p.parentRef.kind ?? "Gateway") === "Gateway",
  );
  const conditions = (parent?.conditions ?? []).map((c) => ({
    type: String(c.type ?? ""),
    status: String(c.status ?? ""),
    reason: String(c.reason ?? ""),
    message: String(c.message ?? "").slice(0, 300),
  }));
  return { route, exists: true, conditions };
}

const isTrue = (v: RouteView, type: string) =>
  v.conditions.some((c) => c.type === type && c.status === "True");

export function routeAccepted(v: RouteView): boolean {
  return v.exists && isTrue(v, "Accepted") && isTrue(v, "ResolvedRefs");
}

export async function pollRoutes(
  read: (route: ObjectRef) => Promise<RouteView>,
  routes: ObjectRef[],
  timeoutMs: number,
  poll: PollOptions,
): Promise<RouteWait> {
  const deadline = poll.now() + timeoutMs;
  for (;;) {
    const views = await Promise.all(routes.map(read));
    if (views.every(routeAccepted)) return { accepted: true };
    if (poll.now() >= deadline) return { accepted: false, routes: views };
    await poll.sleep(poll.pollMs);
  }
}

/** One GET of `url`, connecting to `address` (host:port) when given, else to the URL's host. */
export function getOnce(url: string, address: string | null, timeoutMs: number): Promise<number> {
  const u = new URL(url);
  const [host, port] = address ? splitAddress(address) : [u.hostname, u.port || null];
  const send = u.protocol === "http:" ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      {
        method: "GET",
        host,
        port: port ?? (u.protocol === "http:" ? 80 : 443),
        path: `${u.pathname}${u.search}`,
        headers: { host: u.host, "user-agent": "prenv-ready-check" },
        // The preview's own name for TLS (SNI) whatever address is dialled. prenv checks that the
        // app answers, not the certificate: it sends nothing secret and reads nothing but the status.
        servername: u.hostname,
        rejectUnauthorized: false,
        agent: false,
      },
      (res: IncomingMessage) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error("no answer (timeout)")));
    req.on("error", reject);
    req.end();
  });
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(":");
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

/** How long a 404 must stay the answer before it counts as the app's own (see pollUrl). */
export const NOT_FOUND_SETTLE_MS = 10_000;

export async function pollUrl(
  url: string,
  address: string | null,
  timeoutMs: number,
  poll: PollOptions,
): Promise<UrlWait> {
  const deadline = poll.now() + timeoutMs;
  let last = "no answer";
  let notFoundSince: number | null = null;
  for (;;) {
    try {
      const status = await getOnce(url, address, Math.max(1000, Math.min(5000, deadline - poll.now())));
      // A 404 is what a Gateway answers for a host it has not programmed yet (a route can be
      // Accepted before its data plane serves it): it counts once it has been the answer for a while.
      notFoundSince = status === 404 ? (notFoundSince ?? poll.now()) : null;
      const settled = notFoundSince === null || poll.now() - notFoundSince >= NOT_FOUND_SETTLE_MS;
      if (status > 0 && status < 500 && settled) return { answered: true, status };
      last = `HTTP ${status}`;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      last = e.code ?? e.message;
    }
    if (poll.now() >= deadline) return { answered: false, last };
    await poll.sleep(poll.pollMs);
  }
}
