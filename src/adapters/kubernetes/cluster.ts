// ClusterPort on client-node. Everything inside a PR namespace runs impersonating the tenant
// service account, so the namespace's own RBAC decides; the bot's identity only manages the
// namespace and its guards. Vendor errors are translated into PrenvError here.
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Deployment,
  type V1Namespace,
  type V1StatefulSet,
} from "@kubernetes/client-node";
import { TENANT_SERVICE_ACCOUNT } from "../../environment/accounts.js";
import type {
  AccessVia,
  AnnotationWrite,
  ClusterPort,
  EnvironmentRecord,
  FailureReport,
  GatewayRef,
  IssuedAccess,
  RolloutState,
  RouteWait,
  ScaleResult,
  UrlWait,
  VirtualClusterState,
} from "../../environment/ports.js";
import { isManaged, managedSelector, MANAGER } from "../../environment/record.js";
import { PrenvError } from "../../errors.js";
import type { KubeObject, ObjectRef } from "../../manifests/objects.js";
import { translateKubeError } from "./errors.js";
import { ImpersonatingKubeConfig, serviceAccountUser } from "./kubeconfig.js";
import { applyEach, bounded, Connection, RawKube, statusMessage } from "./raw.js";
import { retrying } from "./retry.js";
import { issueTenantAccess, issueVirtualAccess, type TokenContext } from "./tokens.js";
import {
  NotPublished,
  rolloutState,
  virtualKubeConfig,
  VirtualWorkloads,
  type PollOptions,
} from "./virtual.js";
import { diagnoseNamespaces } from "./diagnosis.js";
import { pollRoutes, pollUrl, readRoute } from "./edge.js";
import { deploymentReady, scaleWorkloads, statefulSetReady, workloadReady } from "./workloads.js";

export { statusMessage } from "./raw.js";
export { NOT_READY, podProblem } from "./diagnosis.js";
export { DEVELOPER_SERVICE_ACCOUNT } from "./tokens.js";

/** Field manager of everything prenv applies (its namespaces with their guards, and the tenant's objects). */
export const FIELD_MANAGER = MANAGER.identity;

export interface ClusterOptions {
  /** Poll interval while waiting for rollouts and virtual clusters (ms). */
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Where to connect for every virtual cluster API (host:port), keeping its host as TLS name. */
  virtualAddress?: string | null;
  /** API server URL for namespace-mode kubeconfigs; default: this kubeconfig's server. */
  hostServer?: string | null;
  /** Where to connect for preview URLs (host:port), keeping the preview host as TLS name and Host. */
  gatewayAddress?: string | null;
}

export class KubernetesCluster implements ClusterPort {
  private readonly core: CoreV1Api;
  private readonly raw: RawKube;
  /** The bot's and every tenant's requests: one discovery cache, kept-alive connections. */
  private readonly connection = new Connection();
  private readonly poll: PollOptions;

  constructor(
    private readonly kc: KubeConfig,
    private readonly opts: ClusterOptions = {},
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.raw = new RawKube(kc, this.connection);
    this.poll = {
      pollMs: opts.pollMs ?? 1000,
      sleep: opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
      now: opts.now ?? Date.now,
    };
  }

  private tenant(namespace: string): KubeConfig {
    return new ImpersonatingKubeConfig(this.kc, {
      user: serviceAccountUser(namespace, TENANT_SERVICE_ACCOUNT),
    });
  }

  async readEnvironment(namespace: string): Promise<EnvironmentRecord | null> {
    try {
      return toRecord(await retrying(() => this.core.readNamespace({ name: namespace })));
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return null;
      throw this.translate(err, `read namespace ${namespace}`);
    }
  }

  /** Every namespace prenv manages, read page by page. */
  async listEnvironments(): Promise<EnvironmentRecord[]> {
    const out: EnvironmentRecord[] = [];
    let cont: string | undefined;
    do {
      let page;
      try {
        const from = cont;
        page = await retrying(() =>
          this.core.listNamespace({ labelSelector: managedSelector(), limit: 100, _continue: from }),
        );
      } catch (err) {
        throw this.translate(err, "list prenv's namespaces");
      }
      out.push(...page.items.map(toRecord));
      cont = page.metadata?._continue || undefined;
    } while (cont);
    return out;
  }

  /** Namespaces first, then the rest at once (quota, policies, accounts, bindings: none needs another). */
  async applyAsBot(objects: KubeObject[]): Promise<void> {
    let failure: PrenvError | undefined;
    const each = (list: KubeObject[]) =>
      bounded(
        list,
        async (o) => {
          try {
            await this.raw.apply(o, { fieldManager: FIELD_MANAGER, force: true });
          } catch (err) {
            failure ??= this.translate(err, `apply ${o.kind}/${o.metadata.name}`);
          }
        },
        () => failure !== undefined,
      );
    await each(objects.filter((o) => o.kind === "Namespace"));
    if (!failure) await each(objects.filter((o) => o.kind !== "Namespace"));
    if (failure) throw failure;
  }

  async annotate(namespace: string, write: AnnotationWrite): Promise<void> {
    const body = {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: namespace, annotations: write.annotations },
    };
    try {
      await this.raw.apply(body, { fieldManager: write.manager, force: true });
    } catch (err) {
      throw this.translate(err, `annotate namespace ${namespace}`);
    }
  }

  /**
   * Sleep: every Deployment and StatefulSet to 0 replicas, the count before kept in the
   * workload's REPLICAS_BEFORE_SLEEP annotation. Wake: back to that count. Done as the tenant.
   */
  scaleWorkloads(namespace: string, to: "sleep" | "wake"): Promise<ScaleResult> {
    const api = new RawKube(this.tenant(namespace), this.connection);
    return scaleWorkloads(api, namespace, to, {
      translate: (err: unknown, what: string) => this.translate(err, what),
      poll: this.poll,
    });
  }

  async applyAsTenant(namespace: string, objects: KubeObject[], opts: { dryRun: boolean }): Promise<void> {
    const api = new RawKube(this.tenant(namespace), this.connection);
    await applyEach(
      objects,
      { dryRun: opts.dryRun, who: "The cluster" },
      (o) =>
        api.apply(
          { ...o, metadata: { ...o.metadata, namespace } },
          { fieldManager: FIELD_MANAGER, force: true, dryRun: opts.dryRun },
        ),
      (err, what) => this.translate(err, what),
    );
  }

  async deleteAsTenant(namespace: string, refs: ObjectRef[]): Promise<void> {
    const api = new RawKube(this.tenant(namespace), this.connection);
    for (const r of refs) {
      try {
        await api.delete(r, namespace);
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) continue;
        throw this.translate(err, `prune ${r.kind}/${r.name}`);
      }
    }
  }

  async deleteAsBot(namespace: string, refs: ObjectRef[]): Promise<void> {
    for (const r of refs) {
      try {
        await this.raw.delete(r, namespace);
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) continue;
        throw this.translate(err, `delete ${r.kind}/${r.name}`);
      }
    }
  }

  async waitForRoutes(
    namespace: string,
    routes: ObjectRef[],
    gateway: GatewayRef,
    timeoutMs: number,
  ): Promise<RouteWait> {
    const read = async (r: ObjectRef) => {
      try {
        return await readRoute(this.raw, namespace, r, gateway);
      } catch (err) {
        throw this.translate(err, `read ${r.kind}/${r.name}`);
      }
    };
    return pollRoutes(read, routes, timeoutMs, this.poll);
  }

  waitForUrl(url: string, timeoutMs: number): Promise<UrlWait> {
    return pollUrl(url, this.opts.gatewayAddress ?? null, timeoutMs, this.poll);
  }

  async rolloutState(namespace: string, workloads: ObjectRef[]): Promise<RolloutState> {
    const apps = this.tenant(namespace).makeApiClient(AppsV1Api);
    const translate = (err: unknown, what: string) => this.translate(err, what);
    return rolloutState(workloads, (w) => workloadReady(apps, namespace, w, translate));
  }

  async diagnose(namespace: string): Promise<FailureReport> {
    try {
      return await diagnoseNamespaces(this.tenant(namespace), [namespace]);
    } catch (err) {
      throw this.translate(err, `diagnose namespace ${namespace}`);
    }
  }

  async virtualCluster(namespace: string, apiHost: string, timeoutMs: number): Promise<VirtualClusterState> {
    const endpoint = { apiHost, address: this.opts.virtualAddress ?? null };
    const tenant = new RawKube(this.tenant(namespace), this.connection);
    const deadline = this.poll.now() + timeoutMs;
    let reason = "it did not answer";
    for (;;) {
      let kc: KubeConfig | null = null;
      try {
        kc = await virtualKubeConfig(tenant, namespace, endpoint);
      } catch (err) {
        if (!(err instanceof NotPublished)) {
          throw this.translate(err, `read the virtual cluster's Secret in ${namespace}`);
        }
        reason = err.message;
      }
      if (kc) {
        const connection = new Connection();
        try {
          // Not retried here: this loop polls until the virtual cluster answers.
          await new RawKube(kc, connection).request("GET", "/readyz", { retry: false });
          return { ready: true, cluster: this.virtualWorkloads(kc, connection) };
        } catch (err) {
          reason = notReadyReason(err, apiHost);
          // It refuses the credentials it published itself: waiting will not help.
          if (err instanceof ApiException && (err.code === 401 || err.code === 403))
            return { ready: false, reason };
        }
      }
      if (this.poll.now() >= deadline) return { ready: false, reason };
      await this.poll.sleep(this.poll.pollMs);
    }
  }

  private virtualWorkloads(kc: KubeConfig, connection: Connection): VirtualWorkloads {
    return new VirtualWorkloads(kc, connection, {
      poll: this.poll,
      fieldManager: FIELD_MANAGER,
      translate: (err, what) => this.translate(err, what),
      readyState: (kind, obj) =>
        kind === "Deployment" ? deploymentReady(obj as V1Deployment) : statefulSetReady(obj as V1StatefulSet),
      diagnose: async (vkc, namespaces) => {
        try {
          return await diagnoseNamespaces(vkc, namespaces);
        } catch (err) {
          throw this.translate(err, "diagnose the virtual cluster");
        }
      },
    });
  }

  async issueAccess(namespace: string, via: AccessVia, seconds: number): Promise<IssuedAccess> {
    const tokens: TokenContext = {
      kc: this.kc,
      raw: this.raw,
      discovery: this.connection.discovery,
      translate: (err: unknown, what: string) => this.translate(err, what),
      hostServer: this.opts.hostServer ?? null,
      virtualAddress: this.opts.virtualAddress ?? null,
    };
    return via.isolation === "vcluster"
      ? issueVirtualAccess(tokens, namespace, via.apiHost, seconds)
      : issueTenantAccess(tokens, namespace, seconds);
  }

  /** Vendor error → PrenvError with an operator-facing message naming what to fix. */
  translate(err: unknown, what: string): PrenvError {
    return translateKubeError(err, what, this.kc.getCurrentCluster()?.server);
  }

  async deleteNamespace(namespace: string): Promise<void> {
    const env = await this.readEnvironment(namespace);
    if (!env) return;
    if (!isManaged(env.labels)) {
      throw new PrenvError(
        "CLUSTER_ERROR",
        `refusing to delete namespace ${namespace}: it is not managed by prenv`,
      );
    }
    if (env.phase === "Terminating") return;
    try {
      await retrying(() => this.core.deleteNamespace({ name: namespace, propagationPolicy: "Background" }));
    } catch (err) {
      // Gone, or already being deleted (a retried delete whose first answer was lost).
      if (err instanceof ApiException && (err.code === 404 || err.code === 409)) return;
      throw this.translate(err, `delete namespace ${namespace}`);
    }
  }
}

/** Why a virtual cluster is not usable yet, in words for the PR comment. */
function notReadyReason(err: unknown, apiHost: string): string {
  if (err instanceof NotPublished) return err.message;
  if (err instanceof ApiException)
    return `its API at https://${apiHost} answered HTTP ${err.code}: ${statusMessage(err).slice(0, 200)}`;
  const code =
    (err as { code?: string; cause?: { code?: string } })?.cause?.code ?? (err as { code?: string })?.code;
  return `its API at https://${apiHost} did not answer${code ? ` (${code})` : ""}`;
}

function toRecord(ns: V1Namespace): EnvironmentRecord {
  const terminating = ns.status?.phase === "Terminating" || Boolean(ns.metadata?.deletionTimestamp);
  return {
    name: ns.metadata?.name ?? "",
    phase: terminating ? "Terminating" : "Active",
    labels: ns.metadata?.labels ?? {},
    annotations: ns.metadata?.annotations ?? {},
    ...(terminating ? { deleting: deletionState(ns) } : {}),
  };
}

/** Since when a namespace is being deleted, and the namespace controller's conditions that block it. */
function deletionState(ns: V1Namespace): { since: string; blockedBy: string[] } {
  const since = ns.metadata?.deletionTimestamp;
  const blockedBy = (ns.status?.conditions ?? [])
    .filter((c) => c.status === "True" && c.type !== "NamespaceDeletionDiscoveryFailure")
    .map((c) => `${c.type}: ${(c.message ?? "").slice(0, 200)}`);
  return { since: since ? new Date(since).toISOString() : "", blockedBy };
}
