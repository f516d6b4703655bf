// A real Kubernetes control plane for tests: etcd (data on tmpfs), kube-apiserver on 127.0.0.1
// with RBAC and the admission plugins prenv depends on, kube-controller-manager running the
// controllers whose behaviour prenv relies on, and kube-scheduler. With `nodeAddress` it is ready
// for a node (test/cluster/harness/node.ts): the API server answers on that address instead, on
// port 443 as EKS's does (the `kubernetes` Service's endpoint, so pods reach it, and network
// policies that admit the API server by its port hold as in production), authorizes kubelets with
// the Node authorizer, and reaches them with a client certificate. Built by
// test/cluster/k8s/build.sh.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { makePki, type ClientCert, type Pki } from "./pki.js";

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, "../../..");

/** Contexts written into the kubeconfig. */
export const ADMIN_CONTEXT = "admin";
export const BOT_CONTEXT = "prenv-bot";
/** The kubeconfig endpoint's own identity (user and group prenv-kubeconfig). */
export const ACCESS_CONTEXT = "prenv-kubeconfig";

export interface ControlPlane {
  /** Kubeconfig with an `admin` context (system:masters), a `prenv-bot` and a `prenv-kubeconfig` context. */
  kubeconfigPath: string;
  server: string;
  runDir: string;
  /** etcd's data directory (tmpfs); removed by stop(). */
  etcdDataDir: string;
  pids: number[];
  /** The run's certificate authority, to issue the node's certificates. */
  pki: Pki;
  /** Where the Kubernetes binaries are (kubelet and kube-proxy too). */
  bin: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Directory for certificates, kubeconfig and logs; created if missing. */
  runDir: string;
  /** Apply deploy/rbac.yaml (the bot's production RBAC) after start. Default true. */
  applyRbac?: boolean;
  /** Controllers for kube-controller-manager. */
  controllers?: string[];
  /** More DNS names on the API server's certificate, e.g. `*.api.preview.test` for a stand-in virtual cluster. */
  extraSANs?: string[];
  /** Leave the processes running when this Node process exits (for `npm run cluster:up`). */
  detached?: boolean;
  /**
   * The host's address on the link to a node (see node.ts): the API server listens there, on
   * port 443 (the address is this run's alone, so the port is too), and advertises it: the
   * endpoint of the `kubernetes` Service.
   */
  nodeAddress?: string;
  log?: (line: string) => void;
}

export const DEFAULT_CONTROLLERS = [
  "namespace-controller",
  "garbage-collector-controller",
  "clusterrole-aggregation-controller",
  "serviceaccount-controller",
  "serviceaccount-token-controller",
  "deployment-controller",
  "replicaset-controller",
  "statefulset-controller",
  "resourcequota-controller",
  // For a node: Services get endpoints (kube-proxy reads EndpointSlices), the node loses its
  // not-ready taint once Ready, every namespace gets kube-root-ca.crt, orphaned pods are removed.
  "endpoints-controller",
  "endpointslice-controller",
  "node-lifecycle-controller",
  "root-ca-certificate-publisher-controller",
  "pod-garbage-collector-controller",
];

/** Builds (or finds cached) control-plane binaries; returns their directory. */
export function ensureBinaries(log: (line: string) => void = () => {}): string {
  const script = join(repoRoot, "test/cluster/k8s/build.sh");
  const started = Date.now();
  const out = execFileSync("bash", [script], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  const lines = out.trim().split("\n");
  const bin = lines[lines.length - 1] ?? "";
  if (!existsSync(join(bin, "kube-apiserver")))
    throw new Error(`build.sh did not produce binaries in '${bin}'`);
  log(`control-plane binaries ready in ${bin} (${Date.now() - started} ms)`);
  return bin;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === "object" && addr ? resolvePort(addr.port) : reject(new Error("no port")),
      );
    });
  });
}

function tmpfsDir(prefix: string): string {
  const base = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  return mkdtempSync(join(base, prefix));
}

interface Proc {
  name: string;
  child: ChildProcess;
  logFile: string;
}

function launch(bin: string, name: string, args: string[], runDir: string, detached: boolean): Proc {
  const logFile = join(runDir, "logs", `${name}.log`);
  const fd = openSync(logFile, "a");
  const child = spawn(join(bin, name), args, { stdio: ["ignore", fd, fd], detached });
  if (detached) child.unref();
  return { name, child, logFile };
}

function tail(file: string, lines = 25): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function httpsGet(url: string, ca: Buffer, client: ClientCert): Promise<{ status: number; body: string }> {
  return httpsSend("GET", url, ca, client);
}

function httpsSend(
  method: string,
  url: string,
  ca: Buffer,
  client: ClientCert,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const req = request(
      url,
      {
        method,
        ca,
        cert: readFileSync(client.cert),
        key: readFileSync(client.key),
        timeout: 5000,
        headers: body ? { "content-type": "application/json" } : {},
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolveGet({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(body);
  });
}

async function waitFor(
  what: string,
  procs: Proc[],
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const p of procs) {
      if (p.child.exitCode !== null) {
        throw new Error(
          `${p.name} exited with code ${p.child.exitCode} while waiting for ${what}:\n${tail(p.logFile)}`,
        );
      }
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}:\n${procs.map((p) => `--- ${p.name}\n${tail(p.logFile)}`).join("\n")}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function kubeconfigUser(name: string, c: ClientCert) {
  return {
    name,
    user: {
      "client-certificate-data": readFileSync(c.cert).toString("base64"),
      "client-key-data": readFileSync(c.key).toString("base64"),
    },
  };
}

export function writeKubeconfig(
  path: string,
  server: string,
  caFile: string,
  users: Record<string, ClientCert>,
  current: string,
): void {
  const doc = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "prenv-test",
        cluster: { server, "certificate-authority-data": readFileSync(caFile).toString("base64") },
      },
    ],
    users: Object.entries(users).map(([n, c]) => kubeconfigUser(n, c)),
    contexts: Object.keys(users).map((n) => ({ name: n, context: { cluster: "prenv-test", user: n } })),
    "current-context": current,
  };
  writeFileSync(path, stringify(doc), { mode: 0o600 });
}

async function stopProcs(procs: Proc[]): Promise<void> {
  for (const p of [...procs].reverse()) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
    const exited = new Promise<void>((r) => p.child.once("exit", () => r()));
    p.child.kill("SIGTERM");
    const timer = setTimeout(() => p.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

export async function startControlPlane(opts: StartOptions): Promise<ControlPlane> {
  const log = opts.log ?? (() => {});
  const detached = opts.detached ?? false;
  const bin = ensureBinaries(log);
  const runDir = resolve(opts.runDir);
  mkdirSync(join(runDir, "logs"), { recursive: true });
  mkdirSync(join(runDir, "pki"), { recursive: true });
  const pkiDir = join(runDir, "pki");
  const pki = makePki(pkiDir, opts.extraSANs, opts.nodeAddress ? [opts.nodeAddress] : []);
  const admin = pki.client("admin", "prenv-test-admin", ["system:masters"]);
  const bot = pki.client("prenv-bot", "prenv-bot", ["prenv-bot"]);
  const access = pki.client("prenv-kubeconfig", "prenv-kubeconfig", ["prenv-kubeconfig"]);
  const kcm = pki.client("kcm", "system:kube-controller-manager", ["system:masters"]);
  const scheduler = pki.client("scheduler", "system:kube-scheduler", []);
  // The API server's identity towards kubelets (logs, exec, port-forward), bound below to
  // system:kubelet-api-admin; kubelets authorize it by webhook, never anonymously.
  const kubeletClient = pki.client("apiserver-kubelet-client", KUBELET_CLIENT_USER, []);

  const etcdData = tmpfsDir("prenv-etcd-");
  const [etcdClient, etcdPeer] = [await freePort(), await freePort()];
  const apiPort = opts.nodeAddress ? 443 : await freePort();
  const server = `https://${opts.nodeAddress ?? "127.0.0.1"}:${apiPort}`;
  const started = Date.now();
  const procs: Proc[] = [];
  const cleanupData = () => rmSync(etcdData, { recursive: true, force: true });

  try {
    procs.push(
      launch(
        bin,
        "etcd",
        [
          "--name=prenv-test",
          `--data-dir=${etcdData}`,
          `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
          `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
          `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
          `--initial-cluster=prenv-test=http://127.0.0.1:${etcdPeer}`,
          "--unsafe-no-fsync",
          "--log-level=warn",
        ],
        runDir,
        detached,
      ),
    );
    procs.push(
      launch(
        bin,
        "kube-apiserver",
        [
          `--etcd-servers=http://127.0.0.1:${etcdClient}`,
          ...apiServerAddressFlags(opts.nodeAddress),
          `--secure-port=${apiPort}`,
          `--tls-cert-file=${pki.serving.cert}`,
          `--tls-private-key-file=${pki.serving.key}`,
          `--client-ca-file=${pki.caCert}`,
          "--authorization-mode=Node,RBAC",
          "--anonymous-auth=false",
          "--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,ResourceQuota,PodSecurity,NodeRestriction",
          `--kubelet-client-certificate=${kubeletClient.cert}`,
          `--kubelet-client-key=${kubeletClient.key}`,
          `--kubelet-certificate-authority=${pki.caCert}`,
          "--kubelet-preferred-address-types=InternalIP",
          // Privileged pods are allowed by the API server so that Pod Security admission, not this
          // flag, is what rejects them in a restricted namespace.
          "--allow-privileged=true",
          "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
          `--service-account-key-file=${pki.saPub}`,
          `--service-account-signing-key-file=${pki.saKey}`,
          "--service-cluster-ip-range=10.96.0.0/16",
          "--profiling=false",
          "--v=1",
        ],
        runDir,
        detached,
      ),
    );
    const ca = readFileSync(pki.caCert);
    await waitFor(
      "kube-apiserver /readyz",
      procs,
      60_000,
      async () => (await httpsGet(`${server}/readyz`, ca, admin)).status === 200,
    );
    log(`kube-apiserver ready on ${server} after ${Date.now() - started} ms`);

    const kcmKubeconfig = join(runDir, "kcm.kubeconfig");
    writeKubeconfig(kcmKubeconfig, server, pki.caCert, { kcm }, "kcm");
    procs.push(
      launch(
        bin,
        "kube-controller-manager",
        [
          `--kubeconfig=${kcmKubeconfig}`,
          `--controllers=${(opts.controllers ?? DEFAULT_CONTROLLERS).join(",")}`,
          `--service-account-private-key-file=${pki.saKey}`,
          `--root-ca-file=${pki.caCert}`,
          "--leader-elect=false",
          "--bind-address=127.0.0.1",
          "--secure-port=0",
          "--concurrent-namespace-syncs=5",
          "--v=1",
        ],
        runDir,
        detached,
      ),
    );

    const schedulerKubeconfig = join(runDir, "scheduler.kubeconfig");
    writeKubeconfig(schedulerKubeconfig, server, pki.caCert, { scheduler }, "scheduler");
    procs.push(
      launch(
        bin,
        "kube-scheduler",
        [
          `--kubeconfig=${schedulerKubeconfig}`,
          `--authentication-kubeconfig=${schedulerKubeconfig}`,
          `--authorization-kubeconfig=${schedulerKubeconfig}`,
          "--leader-elect=false",
          "--bind-address=127.0.0.1",
          "--secure-port=0",
          "--v=1",
        ],
        runDir,
        detached,
      ),
    );

    const kubeconfigPath = join(runDir, "kubeconfig");
    writeKubeconfig(
      kubeconfigPath,
      server,
      pki.caCert,
      { [ADMIN_CONTEXT]: admin, [BOT_CONTEXT]: bot, [ACCESS_CONTEXT]: access },
      ADMIN_CONTEXT,
    );

    // The controller manager is up once it has created the `default` service account.
    await waitFor(
      "kube-controller-manager (default service account)",
      procs,
      60_000,
      async () =>
        (await httpsGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, ca, admin)).status ===
        200,
    );
    await bindKubeletClient(server, ca, admin);
    if (opts.applyRbac ?? true) {
      const { applyManifestFile } = await import("./apply.js");
      await applyManifestFile(kubeconfigPath, ADMIN_CONTEXT, join(repoRoot, "deploy/rbac.yaml"));
      await applyManifestFile(kubeconfigPath, ADMIN_CONTEXT, join(repoRoot, "deploy/policy.yaml"));
    }
    log(`control plane ready after ${Date.now() - started} ms`);

    let stopped = false;
    return {
      kubeconfigPath,
      server,
      runDir,
      etcdDataDir: etcdData,
      pids: procs.map((p) => p.child.pid ?? -1),
      pki,
      bin,
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopProcs(procs);
        cleanupData();
      },
    };
  } catch (err) {
    await stopProcs(procs);
    cleanupData();
    throw err;
  }
}

/** The user the API server presents to kubelets. */
export const KUBELET_CLIENT_USER = "kube-apiserver-kubelet-client";

/**
 * Without a node the API server binds only loopback and keeps no endpoints for the `kubernetes`
 * Service (127.0.0.1 is not a valid endpoint). With a node it listens on the host's end of the
 * node's link and advertises it, so the Service's endpoint is reachable from pods.
 */
function apiServerAddressFlags(nodeAddress: string | undefined): string[] {
  if (!nodeAddress)
    return ["--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none"];
  return [
    `--bind-address=${nodeAddress}`,
    `--advertise-address=${nodeAddress}`,
    "--endpoint-reconciler-type=lease",
  ];
}

/** Lets the API server's kubelet client use the kubelet API (logs, exec, port-forward, stats). */
async function bindKubeletClient(server: string, ca: Buffer, admin: ClientCert): Promise<void> {
  const body = JSON.stringify({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "prenv-test:kube-apiserver-kubelet-client" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:kubelet-api-admin" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: KUBELET_CLIENT_USER }],
  });
  const res = await httpsSend(
    "POST",
    `${server}/apis/rbac.authorization.k8s.io/v1/clusterrolebindings`,
    ca,
    admin,
    body,
  );
  if (res.status !== 201 && res.status !== 409)
    throw new Error(`binding the kubelet client failed: HTTP ${res.status} ${res.body.slice(0, 300)}`);
}
