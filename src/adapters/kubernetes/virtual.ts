// A PR's virtual cluster, reached through its own API hostname. The vcluster publishes its admin
// credentials in a Secret of its host namespace; prenv reads that Secret as the namespace's tenant
// (the bot itself cannot read Secrets) and builds a kubeconfig from its certificate parts alone.
// The Secret lives in a namespace a PR's workloads share, so nothing else in it is trusted: no
// server URL (the per-PR host is ours), no exec or auth-provider plugins (they would run commands).
import { ApiException, KubeConfig } from "@kubernetes/client-node";
import type { FailureReport, RolloutState, WorkloadCluster } from "../../environment/ports.js";
import type { KubeObject, ObjectRef } from "../../manifests/objects.js";
import { VCLUSTER_KUBECONFIG_SECRET } from "../../environment/accounts.js";
import { PrenvError } from "../../errors.js";
import { applyEach, RawKube, type Connection } from "./raw.js";

const SECRET_KEYS = ["certificate-authority", "client-certificate", "client-key"] as const;

export interface VirtualEndpoint {
  /** The per-PR API host, e.g. pr-12-acme-web-1a2b3c.api.preview.example.com. */
  apiHost: string;
  /** Connect here instead (host:port); the TLS server name stays `apiHost`. */
  address: string | null;
}

/** What is missing when the vcluster's credentials cannot be used yet. */
export class NotPublished extends Error {}

/**
 * The virtual cluster's admin kubeconfig, from the Secret `vc-vcluster` (read through `tenant`),
 * or NotPublished while it is missing or incomplete.
 */
export async function virtualKubeConfig(
  tenant: RawKube,
  namespace: string,
  endpoint: VirtualEndpoint,
): Promise<KubeConfig> {
  let secret: { data?: Record<string, string> };
  try {
    secret = (await tenant.request(
      "GET",
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${VCLUSTER_KUBECONFIG_SECRET}`,
    )) as typeof secret;
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) {
      throw new NotPublished(
        `it has not published its credentials yet (Secret ${VCLUSTER_KUBECONFIG_SECRET})`,
      );
    }
    throw err;
  }
  const data = secret.data ?? {};
  const missing = SECRET_KEYS.filter((k) => !isBase64Pem(data[k]));
  if (missing.length > 0) {
    throw new NotPublished(`its Secret ${VCLUSTER_KUBECONFIG_SECRET} lacks ${missing.join(", ")}`);
  }
  return endpointKubeConfig(endpoint, {
    caData: data["certificate-authority"]!,
    certData: data["client-certificate"]!,
    keyData: data["client-key"]!,
  });
}

function isBase64Pem(value: string | undefined): boolean {
  if (!value || value.length > 64 * 1024 || !/^[A-Za-z0-9+/=\s]+$/.test(value)) return false;
  return Buffer.from(value, "base64").toString("utf8").includes("-----BEGIN ");
}

/** A kubeconfig for the per-PR host with exactly these credentials (base64 PEM, as in kubeconfigs). */
export function endpointKubeConfig(
  endpoint: VirtualEndpoint,
  creds: { caData: string; certData?: string; keyData?: string; token?: string },
): KubeConfig {
  const kc = new KubeConfig();
  const server = `https://${endpoint.address ?? endpoint.apiHost}`;
  kc.loadFromOptions({
    clusters: [
      {
        name: "vcluster",
        server,
        caData: creds.caData,
        skipTLSVerify: false,
        ...(endpoint.address ? { tlsServerName: endpoint.apiHost } : {}),
      },
    ],
    users: [
      {
        name: "vcluster",
        ...(creds.certData ? { certData: creds.certData } : {}),
        ...(creds.keyData ? { keyData: creds.keyData } : {}),
        ...(creds.token ? { token: creds.token } : {}),
      },
    ],
    contexts: [{ name: "vcluster", cluster: "vcluster", user: "vcluster" }],
    currentContext: "vcluster",
  });
  return kc;
}

export interface PollOptions {
  pollMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

/** One look at each workload: ready, still rolling out, or failed. */
export async function rolloutState(
  workloads: ObjectRef[],
  ready: (w: ObjectRef) => Promise<boolean | "failed">,
): Promise<RolloutState> {
  const states = await Promise.all(workloads.map(ready));
  const pending = workloads.filter((_, i) => states[i] === false).map(label);
  const failed = workloads.filter((_, i) => states[i] === "failed").map(label);
  return pending.length === 0 && failed.length === 0 ? { ready: true } : { ready: false, pending, failed };
}

function label(w: ObjectRef): string {
  return w.namespace ? `${w.kind}/${w.name} in ${w.namespace}` : `${w.kind}/${w.name}`;
}

export interface VirtualWorkloadOptions {
  poll: PollOptions;
  fieldManager: string;
  translate: (err: unknown, what: string) => PrenvError;
  readyState: (kind: string, object: unknown) => boolean | "failed";
  diagnose: (kc: KubeConfig, namespaces: string[]) => Promise<FailureReport>;
}

/** Inside a virtual cluster, as its admin: every kind and namespace the manifests name. */
export class VirtualWorkloads implements WorkloadCluster {
  constructor(
    private readonly kc: KubeConfig,
    private readonly connection: Connection,
    private readonly opts: VirtualWorkloadOptions,
  ) {}

  private raw(): RawKube {
    return new RawKube(this.kc, this.connection);
  }

  async apply(objects: KubeObject[], opts: { dryRun: boolean }): Promise<ObjectRef[]> {
    const raw = this.raw();
    return applyEach(
      objects,
      { dryRun: opts.dryRun, who: "The virtual cluster", where: " in the virtual cluster" },
      async (o): Promise<ObjectRef> => {
        const info = await raw.resource(o.apiVersion, o.kind);
        const namespace = info.namespaced ? o.metadata.namespace || "default" : undefined;
        const metadata = { ...o.metadata };
        if (namespace) metadata.namespace = namespace;
        else delete metadata.namespace;
        await raw.apply(
          { ...o, metadata },
          { fieldManager: this.opts.fieldManager, force: true, dryRun: opts.dryRun },
        );
        return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: namespace ?? "" };
      },
      this.opts.translate,
    );
  }

  async established(crdNames: string[], timeoutMs: number): Promise<void> {
    const raw = this.raw();
    const deadline = this.opts.poll.now() + timeoutMs;
    for (const name of crdNames) {
      for (;;) {
        let crd: { status?: { conditions?: { type: string; status: string }[] } };
        try {
          crd = (await raw.request(
            "GET",
            `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${encodeURIComponent(name)}`,
          )) as typeof crd;
        } catch (err) {
          throw this.opts.translate(err, `read CustomResourceDefinition/${name} in the virtual cluster`);
        }
        if (crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) break;
        if (this.opts.poll.now() >= deadline) {
          throw new PrenvError(
            "MANIFEST_INVALID",
            `CustomResourceDefinition/${name} was not established within ${Math.round(timeoutMs / 1000)} s; check its spec.`,
          );
        }
        await this.opts.poll.sleep(this.opts.poll.pollMs);
      }
    }
    // Kinds the new definitions serve are discovered afresh.
    this.connection.discovery.clear();
  }

  async delete(refs: ObjectRef[]): Promise<void> {
    const raw = this.raw();
    for (const r of refs) {
      try {
        await raw.delete(r, r.namespace || undefined);
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) continue;
        throw this.opts.translate(err, `prune ${r.kind}/${r.name} in the virtual cluster`);
      }
    }
  }

  async rolloutState(workloads: ObjectRef[]): Promise<RolloutState> {
    const raw = this.raw();
    return rolloutState(workloads, async (w) => {
      const plural = w.kind === "Deployment" ? "deployments" : "statefulsets";
      const ns = encodeURIComponent(w.namespace || "default");
      try {
        const obj = await raw.request(
          "GET",
          `/apis/apps/v1/namespaces/${ns}/${plural}/${encodeURIComponent(w.name)}`,
        );
        return this.opts.readyState(w.kind, obj);
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) return false;
        throw this.opts.translate(err, `read ${w.kind}/${w.name} in the virtual cluster`);
      }
    });
  }

  diagnose(namespaces: string[]): Promise<FailureReport> {
    return this.opts.diagnose(this.kc, namespaces.length > 0 ? namespaces : ["default"]);
  }
}
