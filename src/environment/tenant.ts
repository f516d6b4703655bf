// The PR's own objects: its manifests read at the head commit, rendered and checked as untrusted
// input (manifests/), plus prenv's preview Ingress (`routing: ingress`); every Ingress and HTTPRoute
// may serve only the preview's host (HTTPRoutes: route-policy.ts).
import type { KubeObject } from "../manifests/objects.js";
import { readManifestFiles } from "../manifests/files.js";
import { parseTenantManifests } from "../manifests/parse.js";
import type { TemplateVars } from "../manifests/template.js";
import { PrenvError } from "../errors.js";
import { renderSource } from "../sources/render.js";
import type { RepoFile } from "../manifests/files.js";
import type { OpenCtx } from "./context.js";
import { ingressObject } from "./guards.js";
import { branchSlug, shortSha } from "./naming.js";
import { appliedLabels } from "./record.js";
import { routeProblems } from "./route-policy.js";
import { serviceNamespace } from "./routes.js";

export type TenantObjects = { ok: true; objects: KubeObject[] } | { ok: false; problems: string[] };

/** Reads, renders and checks the PR's manifests: the objects to apply, or the problems to report. */
export async function tenantObjects(ctx: OpenCtx): Promise<TenantObjects> {
  const { deps, namespace, pr, config, host } = ctx;
  const labels = appliedLabels();
  const vars = {
    pr: pr.number,
    sha: pr.headSha,
    shortSha: shortSha(pr.headSha),
    branch: pr.headRef,
    branchSlug: branchSlug(pr.headRef),
    namespace,
    host,
    image: config.deploy.image,
  };
  const read = await sourceFiles(ctx, vars);
  if (!read.ok) return { ok: false, problems: [read.problem] };
  // A chart's or overlay's output is data: it is not templated again (templating: false).
  const parsed = parseTenantManifests(read.files, {
    namespace,
    labels,
    isolation: config.isolation,
    ingressClass: deps.settings.ingressClass,
    vars,
    templating: config.deploy.path !== undefined,
  });
  if (!parsed.ok) return { ok: false, problems: parsed.errors.map((e) => e.message) };
  const tenant = parsed.objects.map((o) => o.object);
  const ingress =
    deps.settings.routing.mode === "ingress"
      ? ingressObject(deps.templates.guards, {
          // Inside a virtual cluster the preview Ingress goes where the Service it routes to is.
          namespace:
            config.isolation === "vcluster" ? serviceNamespace(tenant, config.url?.service ?? "") : namespace,
          labels,
          host,
          config,
          settings: deps.settings,
        })
      : null;
  const objects = [...tenant, ...(ingress ? [ingress] : [])];
  const hostProblems = [
    ...foreignIngressHosts(objects, host),
    ...routeProblems(objects, host, deps.settings.routing.gateway),
  ];
  return hostProblems.length > 0 ? { ok: false, problems: hostProblems } : { ok: true, objects };
}

/** The raw manifests at the head commit, or what deploy.helm / deploy.kustomize renders from it. */
async function sourceFiles(
  ctx: OpenCtx,
  vars: TemplateVars,
): Promise<{ ok: true; files: RepoFile[] } | { ok: false; problem: string }> {
  const { deps, pr, config, namespace } = ctx;
  if (config.deploy.path !== undefined) return readManifestFiles(deps.github, pr.headSha, config.deploy.path);
  try {
    const files = await renderSource(
      config.deploy,
      { commit: pr.headSha, namespace, isolation: config.isolation, vars },
      deps.render,
    );
    return { ok: true, files };
  } catch (err) {
    if (err instanceof PrenvError && err.code === "MANIFEST_INVALID")
      return { ok: false, problem: err.message };
    throw err;
  }
}

/** Ingress hosts other than the preview's own would let a PR take traffic meant for someone else. */
function foreignIngressHosts(objects: KubeObject[], host: string): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    if (o.kind !== "Ingress") continue;
    const spec = (o.spec ?? {}) as {
      rules?: { host?: unknown }[];
      tls?: { hosts?: unknown[] }[];
      defaultBackend?: unknown;
    };
    if (spec.defaultBackend !== undefined) {
      problems.push(
        `Ingress/${o.metadata.name}: defaultBackend would catch traffic for every host; use a rule with host {{host}}.`,
      );
    }
    const hosts = [
      ...(spec.rules ?? []).map((r) => r.host),
      ...(spec.tls ?? []).flatMap((t) => t.hosts ?? []),
    ];
    for (const h of hosts) {
      if (typeof h !== "string" || (h !== host && !h.endsWith(`.${host}`))) {
        problems.push(
          `Ingress/${o.metadata.name}: host ${JSON.stringify(String(h)).slice(0, 80)} is not this preview's host; use {{host}} (${host}) or a subdomain of it.`,
        );
      }
    }
  }
  return problems;
}
