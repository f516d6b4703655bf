// "Ready" means reachable. After the rollout prenv waits, within PRENV_READY_TIMEOUT_SECONDS, until
// the operator's Gateway has accepted its routes (status conditions Accepted and ResolvedRefs for
// that Gateway; `routing: gateway`) and, when the repository has `url`, the preview URL answers a
// GET of `url.readyPath` with anything below 500 (a 404 only once it has lasted: edge.ts). What
// failed, and what the Gateway said, goes into the PR comment. Called by the rollout follow-up once
// the workloads are ready (rollout.ts).
import type { OpenCtx } from "./context.js";
import type { RouteView } from "./ports.js";
import { gatewayRoutes } from "./routes.js";

export type Reachability = { reachable: true } | { reachable: false; detail: string };

/**
 * Waits for prenv's routes (gateway mode) and the preview URL, as PRENV_READY_CHECK asks.
 * `beforeWait`: called once, before the first wait (the deploy says "deploying" then).
 */
export async function checkReachable(ctx: OpenCtx, beforeWait?: () => Promise<void>): Promise<Reachability> {
  const { deps, namespace, config, host } = ctx;
  const { routing, urlScheme } = deps.settings;
  if (routing.readyCheck === "rollout") return { reachable: true };
  const deadline = deps.clock.now().getTime() + routing.readyTimeoutMs;
  const seconds = Math.round(routing.readyTimeoutMs / 1000);
  const gateway = `${routing.gateway.namespace}/${routing.gateway.name}`;

  const routes = gatewayRoutes(ctx);
  const urlWait = routing.readyCheck === "url" && Boolean(config.url);
  if (routes.length > 0 || urlWait) await beforeWait?.();
  if (routes.length > 0) {
    const wait = await deps.cluster.waitForRoutes(namespace, routes, routing.gateway, routing.readyTimeoutMs);
    if (!wait.accepted) {
      const said = wait.routes.filter((r) => !accepted(r)).map((r) => describeRoute(r, gateway));
      return {
        reachable: false,
        detail: `The app's pods are ready, but the Gateway ${gateway} did not accept the route within ${seconds} s: ${said.join("; ")}.`,
      };
    }
  }
  if (routing.readyCheck === "route" || !config.url) return { reachable: true };

  const url = `${urlScheme}://${host}${config.url.readyPath ?? config.url.path}`;
  const left = Math.max(1000, deadline - deps.clock.now().getTime());
  const answer = await deps.cluster.waitForUrl(url, left);
  if (answer.answered) return { reachable: true };
  const route = routing.mode === "gateway" ? "the route is accepted, but " : "";
  return {
    reachable: false,
    detail: `The app's pods are ready and ${route}the preview URL ${url} did not answer within ${seconds} s with a status below 500 (last: ${answer.last}).`,
  };
}

function accepted(r: RouteView): boolean {
  const t = (type: string) => r.conditions.some((c) => c.type === type && c.status === "True");
  return r.exists && t("Accepted") && t("ResolvedRefs");
}

/** What the Gateway's controller said about one route, for the PR comment. */
function describeRoute(r: RouteView, gateway: string): string {
  const what = `${r.route.kind}/${r.route.name}`;
  if (!r.exists) return `${what} does not exist`;
  if (r.conditions.length === 0) {
    return `${what} has no status from ${gateway}'s controller yet (is the Gateway there, and its controller running?)`;
  }
  const notTrue = r.conditions.filter((c) => c.status !== "True");
  const shown = (notTrue.length > 0 ? notTrue : r.conditions)
    .map((c) => `${c.type}=${c.status} (${c.reason})${c.message ? `: ${c.message}` : ""}`)
    .join(", ");
  return `${what}: ${shown}`;
}
