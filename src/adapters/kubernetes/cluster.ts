// ClusterPort on client-node. Everything inside a PR namespace runs impersonating the tenant
// service account, so the namespace's own RBAC decides; the bot's identity only manages the
// namespace and its guards. Vendor errors are translated into PrenvError here.
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  type CoreV1Event,
  KubeConfig,
  type V1ContainerStatus,
  type V1Deployment,
  type V1Namespace,
  type V1Pod,
  type V1StatefulSet,
} from "@kubernetes/client-node";
import { readFileSync } from "node:fs";
import { TENANT_SERVICE_ACCOUNT, VCLUSTER_MANAGED_BY, VCLUSTER_NAME } from "../../environment/guards.js";
import type { KubeObject, ObjectRef } from "../../manifests/objects.js";
import type {
  AnnotationWrite,
  ClusterPort,
  EnvironmentRecord,
  FailureReport,
  AccessVia,
  IssuedAccess,
  PodDiagnosis,
  RolloutResult,
  ScaleResult,
  VirtualClusterState,
} from "../../environment/ports.js";
import { isManaged, managedSelector, MANAGER, REPLICAS_BEFORE_SLEEP } from "../../environment/record.js";
import { PrenvError } from "../../errors.js";
import { ImpersonatingKubeConfig, serviceAccountUser } from "./kubeconfig.js";
import { applyEach, RawKube, statusMessage, type DiscoveryCache } from "./raw.js";
import {
  NotPublished,
  pollRollout,
  virtualKubeConfig,
  VirtualWorkloads,
  type PollOptions,
} from "./virtual.js";

export { statusMessage } from "./raw.js";

/** Field manager of everything prenv applies (its namespaces with their guards, and the tenant's objects). */
export const FIELD_MANAGER = MANAGER.identity;
/** Inside a virtual cluster: the service account developers' kubeconfigs act as (cluster-admin there). */
export const DEVELOPER_SERVICE_ACCOUNT = { namespace: "kube-system", name: "prenv-developer" } as const;

export interface ClusterOptions {
  /** Poll interval while waiting for rollouts and virtual clusters (ms). */
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Where to connect for every virtual cluster API (host:port), keeping its host as TLS name. */
  virtualAddress?: string | null;
  /** API server URL for namespace-mode kubeconfigs; default: this kubeconfig's server. */
  hostServer?: string | null;
}

export class KubernetesCluster implements ClusterPort {
  private readonly core: CoreV1Api;
  private readonly raw: RawKube;
  /** One discovery cache for the bot's and every tenant's requests. */
  private readonly discovery: DiscoveryCache = new Map();
  private readonly poll: PollOptions;

  constructor(
    private readonly kc: KubeConfig,
    private readonly opts: ClusterOptions = {},
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.raw = new RawKube(kc, this.discovery);
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
      return toRecord(await this.core.readNamespace({ name: namespace }));
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
        page = await this.core.listNamespace({
          labelSelector: managedSelector(),
          limit: 100,
          _continue: cont,
        });
      } catch (err) {
        throw this.translate(err, "list prenv's namespaces");
      }
      out.push(...page.items.map(toRecord));
      cont = page.metadata?._continue || undefined;
    } while (cont);
    return out;
  }

  async applyAsBot(objects: KubeObject[]): Promise<void> {
    for (const o of objects) {
      try {
        await this.raw.apply(o, { fieldManager: FIELD_MANAGER, force: true });
      } catch (err) {
        throw this.translate(err, `apply ${o.kind}/${o.metadata.name}`);
      }
    }
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
   * workload's REPLICAS_BEFORE_SLEEP annotation. Wake: back to that count. Done as
   * the tenant, through the scale subresource plus an annotation patch.
   */
  async scaleWorkloads(namespace: string, to: "sleep" | "wake"): Promise<ScaleResult> {
    const api = new RawKube(this.tenant(namespace), this.discovery);
    const changed: ScaleResult["changed"] = [];
    for (const [kind, plural] of [
      ["Deployment", "deployments"],
      ["StatefulSet", "statefulsets"],
    ] as const) {
      let list: {
        items: {
          metadata: { name: string; annotations?: Record<string, string> };
          spec?: { replicas?: number };
        }[];
      };
      try {
        list = (await api.request("GET", `/apis/apps/v1/namespaces/${namespace}/${plural}`)) as typeof list;
      } catch (err) {
        throw this.translate(err, `list ${plural} in ${namespace}`);
      }
      for (const w of list.items) {
        const current = w.spec?.replicas ?? 1;
        const target = scaleTarget(to, current, w.metadata.annotations?.[REPLICAS_BEFORE_SLEEP]);
        if (target === null) continue;
        const path = `/apis/apps/v1/namespaces/${namespace}/${plural}/${w.metadata.name}`;
        const annotations = { [REPLICAS_BEFORE_SLEEP]: to === "sleep" ? String(current) : null };
        try {
          await api.request("PATCH", path, {
            body: { metadata: { annotations }, spec: { replicas: target } },
            contentType: "application/merge-patch+json",
          });
        } catch (err) {
          throw this.translate(err, `scale ${kind}/${w.metadata.name}`);
        }
        changed.push({ kind, name: w.metadata.name, from: current, to: target });
      }
    }
    if (to === "sleep") await this.deleteSyncedPods(api, namespace);
    return { changed };
  }

  /**
   * A virtual cluster scaled to zero leaves the pods it synced to the host running: delete them
   * (as vcluster's own pause does); waking the virtual cluster recreates what it still knows.
   */
  private async deleteSyncedPods(api: RawKube, namespace: string): Promise<void> {
    const selector = encodeURIComponent(`${VCLUSTER_MANAGED_BY}=${VCLUSTER_NAME}`);
    const base = `/api/v1/namespaces/${namespace}/pods`;
    try {
      const pods = (await api.request("GET", `${base}?labelSelector=${selector}`)) as {
        items: { metadata: { name: string } }[];
      };
      for (const p of pods.items) {
        await api
          .request("DELETE", `${base}/${encodeURIComponent(p.metadata.name)}`)
          .catch((err: unknown) => {
            if (!(err instanceof ApiException && err.code === 404)) throw err;
          });
      }
    } catch (err) {
      throw this.translate(err, `delete the virtual cluster's pods in ${namespace}`);
    }
  }

  async applyAsTenant(namespace: string, objects: KubeObject[], opts: { dryRun: boolean }): Promise<void> {
    const api = new RawKube(this.tenant(namespace), this.discovery);
    await applyEach(
      objects,
      opts.dryRun,
      "The cluster",
      (o) =>
        api.apply(
          { ...o, metadata: { ...o.metadata, namespace } },
          { fieldManager: FIELD_MANAGER, force: true, dryRun: opts.dryRun },
        ),
      (err, what) => this.translate(err, what),
    );
  }

  async deleteAsTenant(namespace: string, refs: ObjectRef[]): Promise<void> {
    const api = new RawKube(this.tenant(namespace), this.discovery);
    for (const r of refs) {
      try {
        await api.delete(r, namespace);
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) continue;
        throw this.translate(err, `prune ${r.kind}/${r.name}`);
      }
    }
  }

  async waitForRollout(namespace: string, workloads: ObjectRef[], timeoutMs: number): Promise<RolloutResult> {
    const apps = this.tenant(namespace).makeApiClient(AppsV1Api);
    return pollRollout(workloads, timeoutMs, (w) => this.workloadReady(apps, namespace, w), this.poll);
  }

  private async workloadReady(apps: AppsV1Api, namespace: string, w: ObjectRef): Promise<boolean | "failed"> {
    try {
      if (w.kind === "Deployment") {
        return deploymentReady(await apps.readNamespacedDeployment({ name: w.name, namespace }));
      }
      return statefulSetReady(await apps.readNamespacedStatefulSet({ name: w.name, namespace }));
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return false;
      throw this.translate(err, `read ${w.kind}/${w.name}`);
    }
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
    const tenant = new RawKube(this.tenant(namespace), this.discovery);
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
        try {
          await new RawKube(kc).request("GET", "/readyz");
          return { ready: true, cluster: this.virtualWorkloads(kc) };
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

  private virtualWorkloads(kc: KubeConfig): VirtualWorkloads {
    return new VirtualWorkloads(kc, {
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
    return via.isolation === "vcluster"
      ? this.issueVirtualAccess(namespace, via.apiHost, seconds)
      : this.issueTenantAccess(namespace, seconds);
  }

  /** A TokenRequest for the namespace's tenant service account, as the bot. */
  private async issueTenantAccess(namespace: string, seconds: number): Promise<IssuedAccess> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new PrenvError("CLUSTER_ERROR", "the kubeconfig's current context has no cluster");
    const issued = await requestToken(this.raw, namespace, TENANT_SERVICE_ACCOUNT, seconds).catch(
      (err: unknown) => {
        throw this.translate(err, `issue a token for ${namespace}/${TENANT_SERVICE_ACCOUNT}`);
      },
    );
    return {
      server: this.opts.hostServer ?? cluster.server,
      certificateAuthorityData: caData(cluster),
      ...issued,
      namespace,
      subject: serviceAccountUser(namespace, TENANT_SERVICE_ACCOUNT),
    };
  }

  /** The namespace's tenant, authenticated by a 10-minute TokenRequest token of its own. */
  private async tenantByToken(namespace: string): Promise<KubeConfig> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new PrenvError("CLUSTER_ERROR", "the kubeconfig's current context has no cluster");
    const { token } = await requestToken(this.raw, namespace, TENANT_SERVICE_ACCOUNT, 600).catch(
      (err: unknown) => {
        throw this.translate(err, `issue a token for ${namespace}/${TENANT_SERVICE_ACCOUNT}`);
      },
    );
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ ...cluster, name: "host" }],
      users: [{ name: "tenant", token }],
      contexts: [{ name: "tenant", cluster: "host", user: "tenant" }],
      currentContext: "tenant",
    });
    return kc;
  }

  /** A TokenRequest inside the virtual cluster for prenv's developer service account (cluster-admin there). */
  private async issueVirtualAccess(
    namespace: string,
    apiHost: string,
    seconds: number,
  ): Promise<IssuedAccess> {
    const endpoint = { apiHost, address: this.opts.virtualAddress ?? null };
    let kc: KubeConfig;
    try {
      // As the tenant, with a token of the shortest lifetime Kubernetes issues: the kubeconfig
      // endpoint's identity requests tokens for prenv-tenant and may impersonate no one.
      const tenant = new RawKube(await this.tenantByToken(namespace), this.discovery);
      kc = await virtualKubeConfig(tenant, namespace, endpoint);
    } catch (err) {
      if (err instanceof NotPublished) {
        throw new PrenvError("VCLUSTER_NOT_READY", `The virtual cluster is still starting: ${err.message}.`);
      }
      throw this.translate(err, `read the virtual cluster's Secret in ${namespace}`);
    }
    const raw = new RawKube(kc);
    const { namespace: ns, name } = DEVELOPER_SERVICE_ACCOUNT;
    try {
      // Idempotent: also brings the account back into a virtual cluster that restarted empty.
      await raw.apply(
        { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: ns } },
        { fieldManager: FIELD_MANAGER, force: true },
      );
      await raw.apply(
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "ClusterRoleBinding",
          metadata: { name },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
          subjects: [{ kind: "ServiceAccount", name, namespace: ns }],
        } as never,
        { fieldManager: FIELD_MANAGER, force: true },
      );
      const issued = await requestToken(raw, ns, name, seconds);
      return {
        server: `https://${apiHost}`,
        certificateAuthorityData: caData(kc.getCurrentCluster() ?? {}),
        ...issued,
        namespace: "default",
        subject: serviceAccountUser(ns, name),
      };
    } catch (err) {
      throw this.translate(err, "issue a token in the virtual cluster");
    }
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
      await this.core.deleteNamespace({ name: namespace, propagationPolicy: "Background" });
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return;
      throw this.translate(err, `delete namespace ${namespace}`);
    }
  }

  /** Vendor error → PrenvError with an operator-facing message naming what to fix. */
  translate(err: unknown, what: string): PrenvError {
    if (err instanceof PrenvError) return err;
    if (err instanceof ApiException) {
      const msg = statusMessage(err);
      if (err.code === 401) {
        return new PrenvError(
          "CLUSTER_FORBIDDEN",
          `Kubernetes rejected prenv's credentials while trying to ${what}; check KUBECONFIG/KUBE_CONTEXT (or the EKS access entry).`,
          { cause: err },
        );
      }
      if (err.code === 403) {
        return new PrenvError(
          "CLUSTER_FORBIDDEN",
          `prenv lacks a Kubernetes permission to ${what}: ${msg}. Apply deploy/rbac.yaml and bind the bot to the prenv-bot group.`,
          { cause: err },
        );
      }
      return new PrenvError(
        "CLUSTER_ERROR",
        `Kubernetes API error (HTTP ${err.code}) while trying to ${what}: ${msg}`,
        { cause: err },
      );
    }
    const code =
      (err as { code?: string; cause?: { code?: string } })?.cause?.code ?? (err as { code?: string })?.code;
    return new PrenvError(
      "CLUSTER_UNREACHABLE",
      `Cannot reach the Kubernetes API at ${this.kc.getCurrentCluster()?.server ?? "(no server in kubeconfig)"} to ${what}${code ? ` (${code})` : ""}; check KUBECONFIG and KUBE_CONTEXT.`,
      { cause: err },
    );
  }
}

/** A TokenRequest: a bearer token for `namespace/name` that the API server accepts for `seconds`. */
async function requestToken(
  raw: RawKube,
  namespace: string,
  name: string,
  seconds: number,
): Promise<{ token: string; expiresAt: Date }> {
  const answer = (await raw.request(
    "POST",
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}/token`,
    {
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: seconds },
      },
    },
  )) as { status?: { token?: string; expirationTimestamp?: string } };
  const token = answer.status?.token;
  const expiresAt = new Date(answer.status?.expirationTimestamp ?? "");
  if (!token || Number.isNaN(expiresAt.getTime())) {
    throw new PrenvError("CLUSTER_ERROR", "the API server answered a TokenRequest without a token");
  }
  return { token, expiresAt };
}

/** The cluster's CA bundle as kubeconfig `certificate-authority-data`, or null for a public CA. */
function caData(cluster: { caData?: string; caFile?: string }): string | null {
  if (cluster.caData) return cluster.caData;
  if (cluster.caFile) return readFileSync(cluster.caFile).toString("base64");
  return null;
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

/** Failing pods (at most 5, with their last log lines) and recent warning events, per namespace. */
async function diagnoseNamespaces(kc: KubeConfig, namespaces: string[]): Promise<FailureReport> {
  const core = kc.makeApiClient(CoreV1Api);
  const report: FailureReport = { pods: [], events: [] };
  for (const namespace of namespaces.slice(0, 5)) {
    const [pods, events] = await Promise.all([
      core.listNamespacedPod({ namespace }),
      core.listNamespacedEvent({ namespace, fieldSelector: "type=Warning" }),
    ]);
    const unhealthy = pods.items.filter((p) => !podReady(p)).slice(0, 5 - report.pods.length);
    for (const p of unhealthy) report.pods.push(await diagnosePod(core, namespace, p));
    report.events.push(...recentEvents(events.items));
  }
  report.events = report.events.slice(0, 10);
  return report;
}

async function diagnosePod(core: CoreV1Api, namespace: string, p: V1Pod): Promise<PodDiagnosis> {
  const name = p.metadata?.name ?? "?";
  const problem = podProblem(p);
  const bad = problem.container;
  let logs: string | null = null;
  if (bad && (bad.restartCount > 0 || bad.state?.terminated)) {
    logs = await core
      .readNamespacedPodLog({
        name,
        namespace,
        container: bad.name,
        tailLines: 20,
        limitBytes: 4096,
        previous: bad.restartCount > 0,
      })
      .catch(() => null);
  }
  return { name, reason: problem.reason, message: problem.message.slice(0, 500), logs };
}

export function deploymentReady(d: V1Deployment): boolean | "failed" {
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  if (s.conditions?.some((c) => c.type === "Progressing" && c.reason === "ProgressDeadlineExceeded")) {
    return "failed";
  }
  const observed = (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1);
  return (
    observed &&
    (s.updatedReplicas ?? 0) >= want &&
    (s.availableReplicas ?? 0) >= want &&
    (s.replicas ?? 0) === want
  );
}

export function statefulSetReady(st: V1StatefulSet): boolean {
  const want = st.spec?.replicas ?? 1;
  const s = st.status ?? { replicas: 0 };
  const observed = (s.observedGeneration ?? 0) >= (st.metadata?.generation ?? 1);
  const revision = want === 0 || s.currentRevision === s.updateRevision;
  return observed && (s.readyReplicas ?? 0) >= want && (s.updatedReplicas ?? want) >= want && revision;
}

interface PodProblem {
  reason: string;
  message: string;
  container: V1ContainerStatus | undefined;
}

/** Why a pod is not ready, in the words kubectl would use. */
export function podProblem(p: V1Pod): PodProblem {
  const statuses = [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])];
  return containerProblem(statuses) ?? schedulingProblem(p);
}

function containerProblem(statuses: V1ContainerStatus[]): PodProblem | null {
  for (const c of statuses) {
    const waiting = c.state?.waiting;
    if (waiting) {
      return {
        reason: waiting.reason ?? "Waiting",
        message: waiting.message ?? `container ${c.name} is waiting`,
        container: c,
      };
    }
    const terminated = c.state?.terminated;
    if (terminated && terminated.exitCode !== 0) {
      const message = `container ${c.name} exited with code ${terminated.exitCode}`;
      return { reason: terminated.reason ?? "Error", message, container: c };
    }
  }
  return null;
}

function schedulingProblem(p: V1Pod): PodProblem {
  const scheduled = p.status?.conditions?.find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False") {
    const message = scheduled.message ?? "the pod could not be scheduled";
    return { reason: scheduled.reason ?? "Unschedulable", message, container: undefined };
  }
  if (!p.spec?.nodeName) {
    return {
      reason: "Pending",
      message: "the pod has not been scheduled to a node yet",
      container: undefined,
    };
  }
  return { reason: p.status?.phase ?? "Unknown", message: "the pod is not ready", container: undefined };
}

/** Replicas to scale to, or null when there is nothing to do. */
export function scaleTarget(
  to: "sleep" | "wake",
  current: number,
  remembered: string | undefined,
): number | null {
  if (to === "sleep") return current === 0 ? null : 0;
  const before = Number(remembered);
  return remembered !== undefined && Number.isInteger(before) && before >= 0 ? before : null;
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

function podReady(p: V1Pod): boolean {
  if (p.status?.phase === "Succeeded") return true;
  return p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

function recentEvents(events: CoreV1Event[]): FailureReport["events"] {
  const time = (e: CoreV1Event) =>
    new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? 0).getTime();
  return [...events]
    .sort((a, b) => time(b) - time(a))
    .slice(0, 10)
    .map((e) => ({
      object: `${e.involvedObject.kind ?? "?"}/${e.involvedObject.name ?? "?"}`,
      reason: e.reason ?? "",
      message: (e.message ?? "").slice(0, 500),
    }));
}
