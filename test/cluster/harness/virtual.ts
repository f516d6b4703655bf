// The real vcluster for the cluster tier: vcluster v0.36.1 (the syncer prenv deploys), built by
// test/cluster/vcluster/build.sh, run from what prenv rendered on the host.
//
// The test world has no node yet, so this harness does the node's part for prenv's control-plane
// pods, and only for them. The host's real deployment and replicaset controllers turn prenv's
// Deployment into a Pod; for every such Pod (label app=vcluster) in a namespace a test hands over
// with `runIn`, the harness starts the Pod's syncer container as the kubelet would, from the Pod
// object itself:
// - a sandbox of its own: a network namespace with one veth (the pod's IP; fixed ports such as
//   the virtual API server's 127.0.0.1:6443 cannot collide with other runs), a private mount and
//   PID namespace, and a root directory holding the image's one file (/vcluster) and the Pod's
//   volumes: emptyDirs (owned by the pod's fsGroup), the config Secret's keys at their mount path,
//   and /binaries filled as the Pod's `kubernetes` init container fills it from the distro image
//   (kube-apiserver and kube-controller-manager of the test control plane, v1.34.4, and kine);
// - the container's env resolved as the kubelet does (fieldRefs to the pod's name, IP, node);
// - the user and group of its securityContext (non-root);
// - the credentials of the Pod's service account: a TokenRequest bound to the Pod, so exactly
//   prenv's RoleBinding to the prenv-vcluster role decides what the syncer may do on the host.
//   The host API is reached through a relay on the veth's host side (its certificate's name
//   kubernetes.default.svc kept as TLS name), given as KUBECONFIG where a pod would have the
//   in-cluster config, and NAMESPACE where it would read the namespace file.
// It binds the Pod to its node and reports it Running with its IP, as the scheduler and kubelet
// would. When the Pod is deleted (sleep scales the Deployment to zero, teardown deletes the
// namespace), deletion is graceful as for any scheduled pod: the sandbox gets SIGTERM, SIGKILL
// after the Pod's grace period, is removed, and only then the Pod object goes.
//
// Clients reach a virtual cluster's API as in production: by its per-PR host, TLS passed through
// by SNI (harness/passthrough.ts) along prenv's own Ingress and Service to the pod.
//
// With a real node (kubelet, containerd) the same Pod runs there instead: see `runIn`.
import { CoreV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from "node:fs";
import { request } from "node:https";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { stringify } from "yaml";
import { ImpersonatingKubeConfig, serviceAccountUser } from "../../../src/adapters/kubernetes/kubeconfig.js";
import { RawKube } from "../../../src/adapters/kubernetes/raw.js";
import { VCLUSTER_KUBECONFIG_SECRET, VCLUSTER_SERVICE_ACCOUNT } from "../../../src/environment/guards.js";
import { ensureBinaries, repoRoot } from "./controlplane.js";
import { startPassthrough, type Passthrough } from "./passthrough.js";

export const VIRTUAL_API_DOMAIN = "api.preview.test";
const NODE_NAME = "prenv-test-node";

/** Why the harness cannot run vcluster pods here, or null when it can (root, `ip`, `unshare`). */
export function vclusterNodeUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "running pods' sandboxes needs root (network and mount namespaces)";
  for (const tool of ["ip", "unshare", "chroot"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      return `${tool} is not installed`;
    }
  }
  return null;
}

/** Builds (or finds cached) vcluster and kine; returns the cache directory (bin/, chart/). */
export function ensureVcluster(log: (line: string) => void = () => {}): string {
  const started = Date.now();
  const out = execFileSync("bash", [join(repoRoot, "test/cluster/vcluster/build.sh")], {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
  });
  const dir = out.trim().split("\n").pop() ?? "";
  if (!existsSync(join(dir, "bin/vcluster")))
    throw new Error(`build.sh did not produce vcluster in '${dir}'`);
  log(`vcluster ready in ${dir} (${Date.now() - started} ms)`);
  return dir;
}

export interface SandboxMetrics {
  pod: string;
  /** From the syncer's start to the first 200 from its /readyz (through its published credentials). */
  readyAfterMs: number | null;
  /** Resident memory of the sandbox's processes, KiB by command, at the last sample. */
  rssKiB: Record<string, number>;
  /** The user ids its processes run as (the entrypoint's setup steps excluded). */
  users: number[];
}

interface Sandbox {
  namespace: string;
  pod: string;
  uid: string;
  labels: Record<string, string>;
  ip: string;
  hostIp: string;
  child: ChildProcess;
  startedAt: number;
  readyAfterMs: number | null;
  exited: Promise<void>;
  logFile: string;
  stop(): Promise<void>;
}

export interface VclusterNode {
  /** `127.0.0.1:<port>`, where the per-PR API hosts are served: PRENV_VCLUSTER_API_ADDRESS. */
  address: string;
  /**
   * Run prenv's vcluster pods in `namespace` from now on (a namespace not handed over keeps its
   * pods Pending, as on a node that cannot pull the image). With a real node, this becomes a
   * no-op: the kubelet runs the Pod, and `address` is the Gateway's or ingress controller's.
   */
  runIn(namespace: string): void;
  /** Resolves once a syncer of `namespace` answers Ready; its start-up time and memory. */
  ready(namespace: string, timeoutMs: number): Promise<SandboxMetrics>;
  /** Samples the memory of the running syncer of `namespace`. */
  metrics(namespace: string): SandboxMetrics;
  /** The syncer's log in `namespace` (all its runs). */
  log(namespace: string): string;
  /** Whether a syncer runs for `namespace` right now. */
  running(namespace: string): boolean;
  /** The running syncer's pod address (`ip:8443`), for checks that bypass the passthrough. */
  podAddress(namespace: string): string;
  stop(): Promise<void>;
}

/** Starts the node stand-in for prenv's vcluster pods and the passthrough for their API hosts. */
export async function startVclusterNode(
  admin: KubeConfig,
  log: (line: string) => void = () => {},
): Promise<VclusterNode> {
  const cache = ensureVcluster(log);
  const controlPlane = ensureBinaries(log);
  const distro: Record<string, string> = {
    "kube-apiserver": join(controlPlane, "kube-apiserver"),
    "kube-controller-manager": join(controlPlane, "kube-controller-manager"),
    "kube-scheduler": join(controlPlane, "kube-scheduler"),
    kine: join(cache, "bin/kine"),
  };
  const runDir = mkdtempSync(join(tmpdir(), "prenv-vcluster-node-"));
  const core = admin.makeApiClient(CoreV1Api);
  const namespaces = new Set<string>();
  const sandboxes = new Map<string, Sandbox>();
  const logs = new Map<string, string[]>();
  const passthrough: Passthrough = await startPassthrough(admin, (namespace, selector) => {
    const s = sandboxes.get(namespace);
    const matches = s && Object.entries(selector).every(([k, v]) => s.labels[k] === v);
    return matches ? s.ip : null;
  });

  const start = async (pod: V1Pod): Promise<Sandbox> => {
    const namespace = pod.metadata!.namespace!;
    const box = await startSandbox(admin, pod, {
      runDir,
      vcluster: join(cache, "bin/vcluster"),
      distro,
    });
    logs.set(namespace, [...(logs.get(namespace) ?? []), box.logFile]);
    log(`vcluster pod ${namespace}/${box.pod} started at ${box.ip}`);
    void watchReady(admin, box);
    return box;
  };

  let stopped = false;
  let busy: Promise<void> = Promise.resolve();
  // As the scheduler and the kubelet: bind the pod to this node, report it running; when it is
  // deleted (gracefully, as for any scheduled pod), stop it and only then remove the Pod object.
  const raw = new RawKube(admin);
  const podPath = (p: V1Pod) => `/api/v1/namespaces/${p.metadata!.namespace!}/pods/${p.metadata!.name!}`;
  const bind = (p: V1Pod) =>
    raw.request("POST", `${podPath(p)}/binding`, {
      body: {
        apiVersion: "v1",
        kind: "Binding",
        metadata: { name: p.metadata!.name! },
        target: { apiVersion: "v1", kind: "Node", name: NODE_NAME },
      },
    });
  const reportRunning = (p: V1Pod, box: Sandbox) =>
    raw.request("PATCH", `${podPath(p)}/status`, {
      body: {
        status: {
          phase: "Running",
          hostIP: box.hostIp,
          podIP: box.ip,
          podIPs: [{ ip: box.ip }],
          startTime: new Date(box.startedAt).toISOString(),
        },
      },
      contentType: "application/merge-patch+json",
    });
  const remove = (namespace: string, name: string) =>
    core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }).catch(() => undefined);

  const sync = async () => {
    for (const namespace of namespaces) {
      const pods = await core
        .listNamespacedPod({ namespace, labelSelector: "app=vcluster" })
        .then((l) => l.items)
        .catch(() => [] as V1Pod[]);
      const current = sandboxes.get(namespace);
      const mine = current && pods.find((p) => p.metadata?.uid === current.uid);
      if (current && (!mine || mine.metadata?.deletionTimestamp)) {
        sandboxes.delete(namespace);
        await current.stop();
        log(`vcluster pod ${namespace}/${current.pod} stopped`);
      }
      for (const p of pods) {
        if (p.metadata?.deletionTimestamp && p.spec?.nodeName === NODE_NAME) {
          await remove(namespace, p.metadata.name!);
        }
      }
      const next = pods.find((p) => !p.metadata?.deletionTimestamp);
      if (!sandboxes.has(namespace) && next && !stopped) {
        if (!next.spec?.nodeName) await bind(next);
        const box = await start(next);
        sandboxes.set(namespace, box);
        await reportRunning(next, box);
      }
    }
  };
  const loop = (async () => {
    while (!stopped) {
      busy = sync().catch((err: unknown) => log(`vcluster node: ${String(err)}`));
      await busy;
      await new Promise((r) => setTimeout(r, 250));
    }
  })();

  const logText = (namespace: string) =>
    (logs.get(namespace) ?? []).map((f) => (existsSync(f) ? readFileSync(f, "utf8") : "")).join("");

  const metrics = (namespace: string): SandboxMetrics => {
    const s = sandboxes.get(namespace);
    if (!s) throw new Error(`no vcluster runs in ${namespace}`);
    return { pod: s.pod, readyAfterMs: s.readyAfterMs, ...processesOf(s.child.pid!) };
  };

  return {
    address: passthrough.address,
    runIn: (namespace) => void namespaces.add(namespace),
    running: (namespace) => sandboxes.has(namespace),
    podAddress(namespace) {
      const s = sandboxes.get(namespace);
      if (!s) throw new Error(`no vcluster runs in ${namespace}`);
      return `${s.ip}:8443`;
    },
    log: logText,
    metrics,
    async ready(namespace, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = sandboxes.get(namespace);
        if (s?.readyAfterMs != null) return metrics(namespace);
        if (Date.now() > deadline) {
          throw new Error(
            `no vcluster in ${namespace} answered Ready within ${timeoutMs} ms:\n${logText(namespace).split("\n").slice(-40).join("\n")}`,
          );
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    async stop() {
      stopped = true;
      await loop;
      await busy;
      for (const s of sandboxes.values()) {
        await s.stop();
        await remove(s.namespace, s.pod);
      }
      sandboxes.clear();
      await passthrough.close();
      execFileSync("rm", ["-rf", "--one-file-system", runDir]);
    },
  };
}

/** As the kubelet's probe would: polls the syncer's /readyz with the credentials it published. */
async function watchReady(admin: KubeConfig, box: Sandbox): Promise<void> {
  const core = admin.makeApiClient(CoreV1Api);
  let running = true;
  void box.exited.then(() => (running = false));
  while (running && box.readyAfterMs === null) {
    const secret = await core
      .readNamespacedSecret({ name: VCLUSTER_KUBECONFIG_SECRET, namespace: box.namespace })
      .catch(() => null);
    const data = secret?.data ?? {};
    if (data["client-certificate"] && data["client-key"]) {
      const b = (k: string) => Buffer.from(data[k]!, "base64");
      const status = await new Promise<number>((resolve) => {
        const req = request(
          {
            host: box.ip,
            port: 8443,
            path: "/readyz",
            cert: b("client-certificate"),
            key: b("client-key"),
            rejectUnauthorized: false,
            timeout: 2000,
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", () => resolve(0));
        req.on("timeout", () => req.destroy());
        req.end();
      });
      if (status === 200) box.readyAfterMs = Date.now() - box.startedAt;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Resident memory of `pid`'s descendants, KiB by command name, and their user ids. */
function processesOf(pid: number): { rssKiB: Record<string, number>; users: number[] } {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // exited meanwhile
    }
  }
  const within = (p: number): boolean => p === pid || (parent.has(p) && p > 1 && within(parent.get(p)!));
  const rssKiB: Record<string, number> = {};
  const users = new Set<number>();
  for (const p of parent.keys()) {
    // The sandbox's own setup (ip, unshare) is not the pod's.
    if (p === pid || !within(p)) continue;
    try {
      const status = readFileSync(`/proc/${p}/status`, "utf8");
      const name = /^Name:\s+(.+)$/m.exec(status)?.[1] ?? "?";
      const rss = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
      users.add(Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]));
      if (rss > 0) rssKiB[name] = (rssKiB[name] ?? 0) + rss;
    } catch {
      // exited meanwhile
    }
  }
  return { rssKiB, users: [...users] };
}

interface SandboxImage {
  runDir: string;
  vcluster: string;
  /** What the Kubernetes distro image holds in /kubernetes: name → file. */
  distro: Record<string, string>;
}

function sh(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** A /30 for the pod's veth pair that no interface of this machine uses yet. */
function freeSubnet(): { host: string; pod: string } {
  const used = execFileSync("ip", ["-4", "-o", "addr", "show"], { encoding: "utf8" });
  for (;;) {
    const [b, c] = [randomInt(0, 256), randomInt(0, 64) * 4];
    const base = `10.213.${b}.`;
    if (![1, 2].some((d) => used.includes(` ${base}${c + d}/`))) {
      return { host: `${base}${c + 1}`, pod: `${base}${c + 2}` };
    }
  }
}

/** Copies (hard-links where it can) `from` to `to`. */
function place(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
    chmodSync(to, 0o755);
  }
}

/** A TCP relay from `listenHost:0` to `target` (host:port); resolves with its port. */
async function relay(listenHost: string, target: URL): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 443), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, listenHost, resolve));
  return {
    port: (server.address() as { port: number }).port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function startSandbox(admin: KubeConfig, pod: V1Pod, image: SandboxImage): Promise<Sandbox> {
  const namespace = pod.metadata!.namespace!;
  const name = pod.metadata!.name!;
  const spec = pod.spec!;
  const container = spec.containers.find((c) => c.name === "syncer") ?? spec.containers[0]!;
  const id = randomBytes(4).toString("hex");
  const netns = `prenv-vc-${id}`;
  const [hostIf, podIf] = [`pvh${id}`, `pvp${id}`];
  const { host: hostIp, pod: podIp } = freeSubnet();
  const root = join(image.runDir, `${name}-${id}`);
  const uid = container.securityContext?.runAsUser ?? spec.securityContext?.runAsUser ?? 0;
  const gid = container.securityContext?.runAsGroup ?? spec.securityContext?.runAsGroup ?? 0;
  const fsGroup = spec.securityContext?.fsGroup ?? gid;
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
  };

  try {
    // The pod's network: its own namespace, one veth pair to the host.
    sh("ip", ["netns", "add", netns]);
    cleanups.push(() => sh("ip", ["netns", "delete", netns]));
    sh("ip", ["link", "add", hostIf, "type", "veth", "peer", "name", podIf]);
    cleanups.push(() => sh("ip", ["link", "delete", hostIf]));
    sh("ip", ["link", "set", podIf, "netns", netns]);
    sh("ip", ["addr", "add", `${hostIp}/30`, "dev", hostIf]);
    sh("ip", ["link", "set", hostIf, "up"]);
    sh("ip", ["-n", netns, "addr", "add", `${podIp}/30`, "dev", podIf]);
    sh("ip", ["-n", netns, "link", "set", podIf, "up"]);
    sh("ip", ["-n", netns, "link", "set", "lo", "up"]);
    sh("ip", ["-n", netns, "route", "add", "default", "via", hostIp]);

    // The host API, as the pod would reach it, with the pod's service account's token.
    const hostApi = new URL(admin.getCurrentCluster()!.server);
    const apiRelay = await relay(hostIp, hostApi);
    cleanups.push(() => apiRelay.close());
    const token = await requestPodToken(admin, namespace, spec.serviceAccountName ?? "default", pod);

    // The root: the image's file, the pod's volumes.
    for (const dir of ["dev", "proc", "etc", "var/run/secrets/prenv-test"]) {
      mkdirSync(join(root, dir), { recursive: true });
    }
    place(image.vcluster, join(root, "vcluster"));
    writeFileSync(join(root, "etc/hosts"), "127.0.0.1 localhost\n::1 localhost\n");
    writeFileSync(join(root, "etc/resolv.conf"), "");
    const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
    for (const mount of container.volumeMounts ?? []) {
      const dir = join(root, mount.mountPath);
      mkdirSync(dir, { recursive: true });
      const volume = volumes.get(mount.name);
      if (volume?.secret?.secretName) {
        const secret = await admin
          .makeApiClient(CoreV1Api)
          .readNamespacedSecret({ name: volume.secret.secretName, namespace });
        for (const [key, value] of Object.entries(secret.data ?? {})) {
          writeFileSync(join(dir, key), Buffer.from(value, "base64"), { mode: 0o644 });
        }
      } else if (volume?.emptyDir) {
        // What the kubelet makes of an emptyDir with an fsGroup: world-writable, the group set and kept.
        chownSync(dir, 0, fsGroup);
        chmodSync(dir, 0o2777);
      }
    }
    // The `kubernetes` init container: `cp -a /kubernetes/. /binaries/` from the distro image.
    const init = spec.initContainers?.find((c) => c.name === "kubernetes");
    if (init) {
      for (const [file, from] of Object.entries(image.distro)) place(from, join(root, "binaries", file));
    }
    const kubeconfig = join(root, "var/run/secrets/prenv-test/kubeconfig");
    writeFileSync(
      kubeconfig,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name: "host",
            cluster: {
              server: `https://${hostIp}:${apiRelay.port}`,
              "tls-server-name": "kubernetes.default.svc",
              "certificate-authority-data": admin.getCurrentCluster()!.caData,
            },
          },
        ],
        users: [{ name: "pod", user: { token } }],
        contexts: [{ name: "pod", context: { cluster: "host", user: "pod", namespace } }],
        "current-context": "pod",
      }),
      { mode: 0o640 },
    );
    chownSync(kubeconfig, 0, gid);

    // The container's env, as the kubelet resolves it.
    const fields: Record<string, string> = {
      "metadata.name": name,
      "metadata.namespace": namespace,
      "status.podIP": podIp,
      "status.hostIP": hostIp,
      "spec.nodeName": NODE_NAME,
      "spec.serviceAccountName": spec.serviceAccountName ?? "default",
    };
    const env: Record<string, string> = {
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      HOME: "/",
      NAMESPACE: namespace,
      KUBECONFIG: "/var/run/secrets/prenv-test/kubeconfig",
    };
    for (const e of container.env ?? []) {
      const path = e.valueFrom?.fieldRef?.fieldPath;
      env[e.name] = e.value ?? (path ? (fields[path] ?? "") : "");
    }

    // PRENV_VCLUSTER_LOGS: keep the syncers' logs in this directory after the run.
    const logDir = process.env.PRENV_VCLUSTER_LOGS ?? image.runDir;
    mkdirSync(logDir, { recursive: true });
    const logFile = join(logDir, `${namespace}-${name}-${id}.log`);
    const out = openSync(logFile, "a");
    const script = [
      "set -e",
      'mount --rbind /dev "$0/dev"',
      'mount -t proc proc "$0/proc"',
      `exec chroot --userspec=${uid}:${gid} --groups=${fsGroup} "$0" /vcluster start`,
    ].join("\n");
    const args = container.command ?? [];
    if (args.length > 0 || (container.args ?? []).length > 0) {
      throw new Error(
        `the harness runs the image's entrypoint only; the pod overrides it (${args.join(" ")})`,
      );
    }
    const child = spawn(
      "ip",
      [
        "netns",
        "exec",
        netns,
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--pid",
        "--kill-child",
        "--",
        "sh",
        "-c",
        script,
        root,
      ],
      { env, stdio: ["ignore", out, out], detached: true },
    );
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const grace = (spec.terminationGracePeriodSeconds ?? 30) * 1000;
    let stopping: Promise<void> | null = null;
    const box: Sandbox = {
      namespace,
      pod: name,
      uid: pod.metadata!.uid!,
      labels: pod.metadata!.labels ?? {},
      ip: podIp,
      hostIp,
      child,
      startedAt: Date.now(),
      readyAfterMs: null,
      exited,
      logFile,
      stop: () =>
        (stopping ??= (async () => {
          if (child.exitCode === null && child.signalCode === null) {
            process.kill(-child.pid!, "SIGTERM");
            const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), grace);
            await exited;
            clearTimeout(timer);
          }
          await cleanup();
          // Its mounts lived in its own mount namespace, gone with its processes.
          execFileSync("rm", ["-rf", "--one-file-system", root]);
        })()),
    };
    return box;
  } catch (err) {
    await cleanup();
    if (existsSync(root)) execFileSync("rm", ["-rf", "--one-file-system", root]);
    throw err;
  }
}

/** As the kubelet does for a projected service account token: a TokenRequest bound to the pod. */
async function requestPodToken(admin: KubeConfig, namespace: string, account: string, pod: V1Pod) {
  const res = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name: account,
    namespace,
    body: {
      spec: {
        audiences: [],
        expirationSeconds: 3600,
        boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata!.name!, uid: pod.metadata!.uid! },
      },
    },
  });
  return res.status!.token;
}

/** The host namespace as the vcluster's service account would act in it. */
export function asVclusterServiceAccount(hostAdmin: KubeConfig, namespace: string): KubeConfig {
  return new ImpersonatingKubeConfig(hostAdmin, {
    user: serviceAccountUser(namespace, VCLUSTER_SERVICE_ACCOUNT),
  });
}
