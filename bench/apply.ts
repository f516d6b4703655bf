// Apply time of a 30-object environment against a far API server: the real control plane behind a
// proxy that holds every client flight for 50 ms (bench/latency-proxy.ts). prenv's tenant apply
// (src/environment/apply.ts: a dry run of every object, the namespace record, then the waves; as
// the tenant service account, impersonated by prenv-bot) next to `kubectl apply --server-side` of
// the same objects with the same identity, built from the pinned Kubernetes module. Each run gets a
// fresh namespace, a fresh client (connections and discovery) and a fresh kubectl cache; runs
// alternate. Prints the medians, their ratio, the HTTP requests each sent and how many of them
// came one after another (the longest chain of requests each sent after the one before it was
// answered: prenv's from undici's diagnostics channel, kubectl's from its -v=6 log).
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { KubernetesCluster } from "../src/adapters/kubernetes/cluster.js";
import { loadKubeConfig } from "../src/adapters/kubernetes/kubeconfig.js";
import { RawKube } from "../src/adapters/kubernetes/raw.js";
import { applyAll, hostWorkloads } from "../src/environment/apply.js";
import type { KubeObject } from "../src/manifests/objects.js";
import { ADMIN_CONTEXT, BOT_CONTEXT, startControlPlane } from "../test/cluster/harness/controlplane.js";
import { kubectlRequests, recordRequests, sequentialRoundTrips, startLatencyProxy } from "./latency-proxy.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const DELAY_MS = Number(process.env.BENCH_DELAY_MS ?? 50);
const TENANT = "prenv-tenant";
const run = promisify(execFile);

/** 30 objects of a small app: config, accounts' secrets, claims, Services, Deployments, a Job, an Ingress. */
function environment(namespace: string): KubeObject[] {
  const labels = { "app.kubernetes.io/managed-by": "prenv" };
  const meta = (name: string) => ({ name, namespace, labels });
  const objects: KubeObject[] = [];
  for (let i = 0; i < 12; i++)
    objects.push({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: meta(`config-${i}`),
      data: { key: `v${i}` },
    });
  for (let i = 0; i < 6; i++)
    objects.push({
      apiVersion: "v1",
      kind: "Secret",
      metadata: meta(`secret-${i}`),
      stringData: { key: `s${i}` },
    });
  for (let i = 0; i < 2; i++)
    objects.push({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: meta(`data-${i}`),
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    });
  for (let i = 0; i < 4; i++) {
    const app = { app: `svc-${i}` };
    objects.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(`svc-${i}`),
      spec: { selector: app, ports: [{ port: 80, targetPort: 8080 }] },
    });
    objects.push({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(`svc-${i}`),
      spec: {
        replicas: 1,
        selector: { matchLabels: app },
        template: {
          metadata: { labels: app },
          spec: {
            securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
              {
                name: "web",
                image: "prenv.test/web:v1",
                envFrom: [{ configMapRef: { name: `config-${i}` } }],
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
              },
            ],
          },
        },
      },
    });
  }
  objects.push({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: meta("migrate"),
    spec: {
      template: {
        spec: {
          restartPolicy: "Never",
          securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "migrate",
              image: "prenv.test/web:v1",
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
            },
          ],
        },
      },
    },
  });
  objects.push({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: meta("web"),
    spec: {
      ingressClassName: "nginx",
      rules: [
        {
          host: `${namespace}.preview.test`,
          http: {
            paths: [
              {
                path: "/",
                pathType: "Prefix",
                backend: { service: { name: "svc-0", port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  });
  if (objects.length !== 30) throw new Error(`expected 30 objects, made ${objects.length}`);
  return objects;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const runDir = mkdtempSync(join(tmpdir(), "prenv-bench-apply-"));
const plane = await startControlPlane({ runDir, applyRbac: true });
try {
  const admin = new RawKube(loadKubeConfig(plane.kubeconfigPath, ADMIN_CONTEXT));
  // prenv's own service account and binding in a namespace are the bot's to write (deploy/policy.yaml).
  const bot = new RawKube(loadKubeConfig(plane.kubeconfigPath, BOT_CONTEXT));
  const apiUrl = new URL(plane.server);
  const proxy = await startLatencyProxy({ host: apiUrl.hostname, port: Number(apiUrl.port) }, DELAY_MS);
  // The bot's kubeconfig, aimed at the proxy (the certificate names 127.0.0.1, as the proxy is).
  const far = loadKubeConfig(plane.kubeconfigPath, BOT_CONTEXT);
  const farServer = `https://${proxy.address}`;
  far.clusters = far.clusters.map((c) => ({ ...c, server: farServer }));
  const farPath = join(runDir, "far.kubeconfig");
  writeFileSync(farPath, far.exportConfig(), { mode: 0o600 });
  // kubectl of the pinned release: built into the control plane's cache on first use (CI does not).
  await run("bash", ["test/cluster/k8s/build.sh"], {
    env: { ...process.env, PRENV_WITH_KUBECTL: "1" },
    maxBuffer: 16 * 1024 * 1024,
  });
  const kubectl = join(plane.bin, "kubectl");

  let n = 0;
  async function freshNamespace(): Promise<string> {
    const name = `bench-apply-${++n}`;
    await admin.apply(
      {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: {
          name,
          labels: { "app.kubernetes.io/managed-by": "prenv" },
          // What the preview-Ingress admission policy holds the namespace's Ingresses to.
          annotations: {
            "prenv.dev/preview-host": `${name}.preview.test`,
            "prenv.dev/ingress-class": "nginx",
          },
        },
      } as never,
      { fieldManager: "bench", force: true },
    );
    await bot.apply(
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: TENANT, namespace: name } },
      { fieldManager: "bench", force: true },
    );
    await bot.apply(
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: TENANT, namespace: name },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: TENANT },
        subjects: [{ kind: "ServiceAccount", name: TENANT, namespace: name }],
      } as never,
      { fieldManager: "bench", force: true },
    );
    return name;
  }

  async function prenv(): Promise<{ ms: number; trips: number; requests: number }> {
    const namespace = await freshNamespace();
    const cluster = new KubernetesCluster(loadKubeConfig(farPath, BOT_CONTEXT));
    const record = (refs: unknown[]) =>
      cluster.annotate(namespace, {
        manager: "prenv-state",
        annotations: { "prenv.dev/applied-objects": String(refs.length) },
      });
    const requests = recordRequests();
    const t = performance.now();
    const result = await applyAll(hostWorkloads(cluster, namespace), environment(namespace), record);
    const ms = performance.now() - t;
    const log = requests.stop();
    if (!result.ok) throw new Error(`prenv's apply was refused: ${result.problems.join("; ")}`);
    return { ms, trips: sequentialRoundTrips(log), requests: log.length };
  }

  async function kubectlApply(): Promise<{ ms: number; trips: number; requests: number }> {
    const namespace = await freshNamespace();
    const file = join(runDir, `${namespace}.json`);
    writeFileSync(file, JSON.stringify({ apiVersion: "v1", kind: "List", items: environment(namespace) }));
    const cache = mkdtempSync(join(runDir, "kubectl-cache-"));
    const t = performance.now();
    const { stderr } = await run(kubectl, [
      "-v=6",
      `--kubeconfig=${farPath}`,
      `--context=${BOT_CONTEXT}`,
      `--as=system:serviceaccount:${namespace}:${TENANT}`,
      `--cache-dir=${cache}`,
      "apply",
      "--server-side",
      "--force-conflicts",
      "--field-manager=prenv",
      `--namespace=${namespace}`,
      `--filename=${file}`,
    ]);
    const ms = performance.now() - t;
    const log = kubectlRequests(stderr);
    return { ms, trips: sequentialRoundTrips(log), requests: log.length };
  }

  await prenv(); // warm-up: the JIT, not the cluster (each run is fresh there)
  await kubectlApply();
  const ours: Awaited<ReturnType<typeof prenv>>[] = [];
  const theirs: Awaited<ReturnType<typeof kubectlApply>>[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const a = await prenv();
    const b = await kubectlApply();
    ours.push(a);
    theirs.push(b);
    ratios.push(a.ms / b.ms);
  }
  await proxy.close();
  console.log(
    JSON.stringify({
      bench: `apply of 30 objects through a +${DELAY_MS} ms proxy to the real API server (median of ${RUNS})`,
      prenv_ms: Math.round(median(ours.map((r) => r.ms))),
      kubectl_ms: Math.round(median(theirs.map((r) => r.ms))),
      ratio: Number(median(ratios).toFixed(2)),
      prenv_sequential_round_trips: median(ours.map((r) => r.trips)),
      kubectl_sequential_round_trips: median(theirs.map((r) => r.trips)),
      prenv_requests: median(ours.map((r) => r.requests)),
      kubectl_requests: median(theirs.map((r) => r.requests)),
    }),
  );
} finally {
  await plane.stop();
  rmSync(runDir, { recursive: true, force: true });
}
