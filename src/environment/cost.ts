// What an environment asks of the shared host, and what that costs per day at the operator's
// prices: the sum of the CPU and memory requests of its workloads (containers without requests
// get the namespace's LimitRange default), times replicas.
import type { KubeObject } from "../manifests/objects.js";

export interface Prices {
  /** Price of one CPU core requested for an hour. */
  cpuHour: number;
  /** Price of one GiB of memory requested for an hour. */
  gibHour: number;
  currency: string;
}

export interface Requests {
  cpu: number;
  memoryGiB: number;
}

const MEMORY_UNITS: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** Kubernetes quantity → cores (for CPU) or bytes (for memory); NaN if unreadable. */
export function parseQuantity(q: unknown): number {
  const text = typeof q === "number" ? String(q) : typeof q === "string" ? q.trim() : "";
  const m = /^([0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(text);
  if (!m) return Number.NaN;
  const value = Number(m[1]);
  const unit = m[2] ?? "";
  return unit === "m" ? value / 1000 : value * (MEMORY_UNITS[unit] ?? Number.NaN);
}

interface PodSpecLike {
  containers?: { resources?: { requests?: Record<string, unknown> } }[];
}

function podSpec(o: KubeObject): { spec: PodSpecLike; copies: number } | null {
  const spec = o.spec as Record<string, unknown> | undefined;
  if (!spec) return null;
  const template = (spec.template as { spec?: PodSpecLike } | undefined)?.spec;
  switch (o.kind) {
    case "Pod":
      return { spec, copies: 1 };
    case "Deployment":
    case "StatefulSet":
    case "ReplicaSet":
      return template
        ? { spec: template, copies: typeof spec.replicas === "number" ? spec.replicas : 1 }
        : null;
    case "Job":
      return template
        ? { spec: template, copies: typeof spec.parallelism === "number" ? spec.parallelism : 1 }
        : null;
    default:
      return null;
  }
}

export function requestsOf(objects: KubeObject[], defaults: { cpu: string; memory: string }): Requests {
  const defCpu = parseQuantity(defaults.cpu) || 0;
  const defMem = parseQuantity(defaults.memory) || 0;
  let cpu = 0;
  let bytes = 0;
  for (const o of objects) {
    const pod = podSpec(o);
    if (!pod) continue;
    for (const c of pod.spec.containers ?? []) {
      const req = c.resources?.requests ?? {};
      const cCpu = parseQuantity(req.cpu);
      const cMem = parseQuantity(req.memory);
      cpu += pod.copies * (Number.isNaN(cCpu) ? defCpu : cCpu);
      bytes += pod.copies * (Number.isNaN(cMem) ? defMem : cMem);
    }
  }
  return { cpu: round(cpu, 3), memoryGiB: round(bytes / 2 ** 30, 3) };
}

export function costPerDay(r: Requests, prices: Prices): number {
  return round(24 * (r.cpu * prices.cpuHour + r.memoryGiB * prices.gibHour), 2);
}

export function formatCost(r: Requests, prices: Prices): string {
  return `~${costPerDay(r, prices).toFixed(2)} ${prices.currency}/day (${r.cpu} CPU, ${r.memoryGiB} GiB requested)`;
}

export function encodeRequests(r: Requests): string {
  return `cpu=${r.cpu},memory=${r.memoryGiB}Gi`;
}

export function decodeRequests(text: string | undefined): Requests | null {
  const m = /^cpu=([0-9.]+),memory=([0-9.]+)Gi$/.exec(text ?? "");
  return m ? { cpu: Number(m[1]), memoryGiB: Number(m[2]) } : null;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
