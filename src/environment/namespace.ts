// The PR's namespace as prenv applies it (as the bot, field manager `prenv`): its identity labels
// and annotations (record.ts) with the guards rendered from templates/ (guards.ts). Applied on
// every deploy and re-applied by the repair rule.
import type { KubeObject } from "../manifests/objects.js";
import type { OpenCtx } from "./context.js";
import { namespaceObjects } from "./guards.js";
import { warnAt, type Life } from "./lifetime.js";
import { identityAnnotations, identityLabels } from "./record.js";
import { policyOf } from "./sleep-policy.js";

export function guardObjects(ctx: OpenCtx, life: Life): KubeObject[] {
  const { deps, pr, config } = ctx;
  const vcluster = config.isolation === "vcluster";
  return namespaceObjects(deps.templates.guards, {
    namespace: ctx.namespace,
    labels: identityLabels({ repoId: pr.repoId, pr: pr.number }, false),
    annotations: identityAnnotations({
      repository: `${ctx.ref.owner}/${ctx.ref.repo}`,
      pr: pr.number,
      repoId: pr.repoId,
      installationId: ctx.ref.installationId,
      createdAt: life.createdAt,
      expiresAt: life.expiresAt,
      warnAt: warnAt(life, config),
      sleepPolicy: policyOf(config),
      isolation: config.isolation,
      previewHost: ctx.host,
      ingressClass: deps.settings.ingressClass,
      gateway: deps.settings.routing.gateway,
      apiHost: vcluster ? ctx.apiHost : null,
    }),
    config,
    settings: deps.settings,
  });
}
