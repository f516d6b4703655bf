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
  /** Operator's cap on any environment's lifetime, in ms. */
  maxTtlMs: number;
  /** How long to wait for Deployments/StatefulSets to become ready, in ms. */
  rolloutTimeoutMs: number;
  /** Default container limits/requests (LimitRange) in every namespace. */
  containerDefaults: {
    defaultCpu: string;
    defaultMemory: string;
    defaultRequestCpu: string;
    defaultRequestMemory: string;
  };
  /** Name of the check run prenv keeps on the head commit. */
  checkName: string;
  /** Operator-wide maximum of concurrent environments (0: no limit). */
  maxEnvironments: number;
  /** Prices for the cost estimate in the PR comment and the janitor's report. */
  prices: Prices;
}
