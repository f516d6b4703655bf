import type { Prices } from "./cost.js";

// Operator settings the environment use cases need (parsed from the process environment by
// src/runtime/settings.ts; plain data here).

export interface EnvironmentSettings {
  /** First part of every namespace name, e.g. `pr` → `pr-12-acme-web-1a2b3c`. */
  namespacePrefix: string;
  /** Preview hosts are `<namespace>.<baseDomain>`. */
  baseDomain: string;
  /** Scheme of preview URLs shown on the PR (`https` when the ingress terminates TLS). */
  urlScheme: "http" | "https";
  /** IngressClass for preview Ingresses. */
  ingressClass: string;
  /** Namespace of the ingress controller: the only other namespace allowed to reach previews. */
  ingressNamespace: string;
  /** How previews are reached, and what "ready" waits for. */
  routing: RoutingSettings;
  /** Operator's cap on any environment's lifetime, in ms. */
  maxTtlMs: number;
  /** How long to wait for Deployments/StatefulSets to become ready, in ms. */
  rolloutTimeoutMs: number;
  /** The longest wait between two follow-up looks at a rollout (they start at 2 s and grow). */
  rolloutCheckMaxMs: number;
  /** Default container limits/requests (LimitRange) in every namespace. */
  containerDefaults: {
    defaultCpu: string;
    defaultMemory: string;
    defaultRequestCpu: string;
    defaultRequestMemory: string;
  };
  /** The most any repository's `resources` may ask for (quantities as written; pods a count). */
  ceilings: { cpu: string; memory: string; storage: string; pods: number };
  /** Object counts every environment's ResourceQuota allows. */
  objectQuota: { configMaps: number; secrets: number; services: number; persistentVolumeClaims: number };
  /** CIDRs previews may never reach; the rest of the internet they may, unless the repository narrows it. */
  egressDeny: string[];
  /** Where the host's API server is (vcluster mode: only the control-plane pod may reach it, on 443/6443). */
  hostApi: string[];
  /** Where the cluster DNS runs: the only pods outside its namespace a preview may reach. */
  dns: { namespace: string; podLabels: Record<string, string> };
  /**
   * Pod Security Standards version enforced (`v1.34`): the host's minor version, so an upgrade of the
   * host does not silently change what is admitted. Null until the composition root has asked the
   * host (see resolveHostSettings).
   */
  podSecurityVersion: string | null;
  /** Name of the check run prenv keeps on the head commit. */
  checkName: string;
  /** Operator-wide maximum of concurrent environments (0: no limit). */
  maxEnvironments: number;
  /** Prices for the cost estimate in the PR comment and the janitor's report. */
  prices: Prices;
  /** Virtual clusters (`isolation: vcluster`). */
  vcluster: VclusterSettings;
  /** Self-service kubeconfigs. */
  access: AccessSettings;
}

export interface RoutingSettings {
  /**
   * `gateway`: an HTTPRoute per preview (and a TLSRoute per virtual cluster API) on the operator's
   * shared Gateway. `ingress`: Ingresses of `ingressClass`, with no controller-specific annotations.
   */
  mode: "gateway" | "ingress";
  /** The operator's Gateway every preview route attaches to. */
  gateway: { name: string; namespace: string };
  /** Where prenv connects to check a preview URL (`host:port`), the preview host kept as TLS name and Host; null: DNS. */
  address: string | null;
  /** What "ready" waits for after the rollout: the route accepted and the URL answering, the route only, or nothing more. */
  readyCheck: "url" | "route" | "rollout";
  /** How long to wait for the route and the URL after the rollout, in ms. */
  readyTimeoutMs: number;
  /** `ingress` mode: the operator's annotations for prenv's virtual cluster API Ingress (TLS passthrough is controller-specific). */
  apiIngressAnnotations: Record<string, string>;
}

export interface VclusterSettings {
  /** The vcluster (OSS) control-plane image, pinned. */
  image: string;
  /** The image whose binaries (kube-apiserver, kube-controller-manager) the Kubernetes distro runs. */
  kubernetesImage: string;
  /** Virtual cluster APIs are `<namespace>.<apiDomain>`, TLS passed through by the ingress controller. */
  apiDomain: string;
  /**
   * Where prenv itself connects for every virtual cluster API (`host:port`, e.g. the ingress
   * controller's internal load balancer); the TLS server name stays the per-PR host. Null: the
   * per-PR host as DNS resolves it.
   */
  apiAddress: string | null;
  /** Size of the virtual cluster's data volume, or null for none (an emptyDir: ephemeral). */
  persistence: string | null;
  /** CPU and memory of the control-plane pod (its requests and limits), on top of `resources`. */
  cpu: string;
  memory: string;
  /** How long to wait for a new virtual cluster's API to answer, in ms. */
  readyTimeoutMs: number;
}

export interface AccessSettings {
  /** Public base URL of prenv's HTTP endpoints (e.g. the API Gateway URL); null: not offered. */
  publicUrl: string | null;
  /** Lifetime of an issued kubeconfig when the caller asks for none, in ms. */
  defaultTtlMs: number;
  /** Longest lifetime a caller may ask for, in ms (never past the environment's expiry). */
  maxTtlMs: number;
  /** API server URL written into namespace-mode kubeconfigs; null: the one prenv itself uses. */
  hostServer: string | null;
}
