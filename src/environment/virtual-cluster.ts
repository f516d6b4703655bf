// Starting a PR's virtual cluster (`isolation: vcluster`): its control plane's objects, from
// templates/, applied in the host namespace as the tenant, then a wait until its API answers. The
// PR's own objects then go inside it.
import type { Report } from "../report/comment.js";
import { redactFailure } from "../report/redact.js";
import { PrenvError } from "../errors.js";
import type { KubeObject } from "../manifests/objects.js";
import { say, type OpenCtx, type Outcome } from "./context.js";
import { vclusterObjects } from "./guards.js";
import type { AnnotationWrite, WorkloadCluster } from "./ports.js";
import { appliedLabels } from "./record.js";

/** The PR's virtual cluster's own objects in the host namespace, from templates/. */
export function virtualClusterObjects(ctx: OpenCtx): KubeObject[] {
  const { settings, templates } = ctx.deps;
  return vclusterObjects(templates.guards, {
    namespace: ctx.namespace,
    labels: appliedLabels(),
    apiHost: ctx.apiHost,
    config: ctx.config,
    settings,
  });
}

/**
 * Installs (or updates) the virtual cluster as the host namespace's tenant and waits for its API.
 * Returns where the PR's objects go, or the outcome already reported when it did not start (after
 * recording `failed`, the state the environment is left in).
 */
export async function startVirtualCluster(
  ctx: OpenCtx,
  controlPlane: KubeObject[],
  report: Omit<Report, "kind">,
  failed: () => AnnotationWrite,
): Promise<WorkloadCluster | Outcome> {
  const { deps, namespace } = ctx;
  try {
    await deps.cluster.applyAsTenant(namespace, controlPlane, { dryRun: true });
    await deps.cluster.applyAsTenant(namespace, controlPlane, { dryRun: false });
  } catch (err) {
    if (!(err instanceof PrenvError) || err.code !== "MANIFEST_INVALID") throw err;
    deps.log.error({ namespace, err: err.message }, "virtual cluster refused by the host");
    await deps.cluster.annotate(namespace, failed());
    await say(ctx, {
      ...report,
      kind: "failed",
      detail: `The host cluster refused prenv's virtual cluster: ${err.message}. This is a problem of the prenv installation; tell its operators.`,
    });
    return "failed";
  }
  const timeoutMs = deps.settings.vcluster.readyTimeoutMs;
  const vc = await deps.cluster.virtualCluster(namespace, ctx.apiHost, timeoutMs);
  if (vc.ready) return vc.cluster;
  const failure = redactFailure(await deps.cluster.diagnose(namespace));
  await deps.cluster.annotate(namespace, failed());
  await say(ctx, {
    ...report,
    kind: "failed",
    failure,
    detail: `The virtual cluster did not start within ${Math.round(timeoutMs / 1000)} s: ${vc.reason}.`,
  });
  return "failed";
}
