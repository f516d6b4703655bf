// The real vcluster for the cluster tier: vcluster v0.36.1 (the syncer prenv deploys) running as
// the control-plane pod prenv's Deployment makes, on the test node.
//
// Nothing here plays a part of the cluster. prenv renders its objects on the host; the host's
// deployment and replicaset controllers make the Pod, kube-scheduler binds it to the node, the
// kubelet runs it with containerd: the distro's init container copies the Kubernetes binaries and
// kine to /binaries, the syncer runs `vcluster start` as prenv's non-root user with its service
// account's token (so exactly the prenv-vcluster role applies) and starts the virtual cluster's API
// server, controller manager and store. The kubelet's probes make it Ready; the pods it syncs to
// the host run on the same node. The harness only:
// - imports the images test/cluster/vcluster/build.sh packed, tagged as prenv deploys them
//   (PRENV_VCLUSTER_IMAGE, PRENV_VCLUSTER_KUBERNETES_IMAGE, and the CoreDNS image vcluster renders
//   for its own DNS) into the node's containerd: there is no registry here;
// - serves the per-PR API hosts as an ingress controller with TLS passthrough would, along prenv's
//   own Ingress and Service (harness/passthrough.ts);
// - measures the control-plane pods: the first Ready answer of the virtual API (its /readyz at the
//   pod's address, from inside the node, with the credentials the vcluster published) after the
//   syncer container started (its first process, from the container's cgroup), and the memory of
//   that cgroup and of its processes; and keeps each syncer's log (followed through the API server,
//   as `kubectl logs -f` does) after its pod is gone.
import { CoreV1Api, DiscoveryV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { execFileSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request, type RequestOptions } from "node:https";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { ImpersonatingKubeConfig, serviceAccountUser } from "../../../src/adapters/kubernetes/kubeconfig.js";
import { VCLUSTER_KUBECONFIG_SECRET, VCLUSTER_SERVICE_ACCOUNT } from "../../../src/environment/guards.js";
import { repoRoot } from "./controlplane.js";
import { importImage, type NodeInfo } from "./node.js";
import { startNodeDialer, startPassthrough, type NodeDialer } from "./passthrough.js";

/** The control-plane pods prenv renders (templates/vcluster.yaml.hbs): its Service's selector. */
const CONTROL_PLANE = "app=vcluster,release=vcluster";
const SYNCER = "syncer";
const API_PORT = 8443;
const CGROUP_MEMORY = "/sys/fs/cgroup/memory";

export interface VclusterImages {
  /** The images' directory: images.json and one tarball per image. */
  dir: string;
  /** Short name (vcluster, kubernetes, coredns) -> reference. */
  refs: Record<string, string>;
}

/** Builds (or finds cached) vcluster, kine and CoreDNS and the images they are packed in. */
export function ensureVclusterImages(log: (line: string) => void = () => {}): VclusterImages {
  const started = Date.now();
  const out = execFileSync("bash", [join(repoRoot, "test/cluster/vcluster/build.sh"), "images"], {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
  });
  const dir = out.trim().split("\n").pop() ?? "";
  if (!existsSync(join(dir, "images.json"))) throw new Error(`build.sh did not pack the images in '${dir}'`);
  log(`vcluster images ready in ${dir} (${Date.now() - started} ms)`);
  return { dir, refs: JSON.parse(readFileSync(join(dir, "images.json"), "utf8")) as Record<string, string> };
}

export interface ControlPlaneMetrics {
  pod: string;
  /** The node the kubelet runs it on. */
  node: string;
  /**
   * From the syncer container's start (its first process) to the first 200 answer of the virtual
   * API's /readyz; null until there was one.
   */
  readyAfterMs: number | null;
  /** From the Pod's creation to its Ready condition (the kubelet's probes; whole seconds). */
  podReadyAfterS: number | null;
  /** Resident memory of the syncer container's processes, KiB by command. */
  rssKiB: Record<string, number>;
  /** The user ids its processes run as. */
  users: number[];
  /** The syncer container's memory cgroup: in use now, and its peak, MiB. */
  memoryMiB: number;
  peakMemoryMiB: number;
  /**
   * The whole pod's memory cgroup, MiB: the container's, plus what the init container left charged
   * to the pod (the distro's binaries it copied into the emptyDir, in the page cache).
   */
  podMemoryMiB: number;
}

export interface VclusterNode {
  /** `127.0.0.1:<port>`, where the per-PR API hosts are served: PRENV_VCLUSTER_API_ADDRESS. */
  address: string;
  /** The host API server as pods reach it (the `kubernetes` Service's endpoint), as a /32. */
  hostApiCidr: string;
  /** Resolves once the control-plane Pod of `namespace` is Ready; its metrics. */
  ready(namespace: string, timeoutMs: number): Promise<ControlPlaneMetrics>;
  /** The metrics of the running control-plane pod of `namespace`. */
  metrics(namespace: string): Promise<ControlPlaneMetrics>;
  /** The syncer's log in `namespace` (all its pods and runs so far). */
  log(namespace: string): string;
  /** Whether `namespace` has a control-plane Pod (running, starting or stopping). */
  running(namespace: string): Promise<boolean>;
  /** A local port forwarded to the API port of the control-plane pod, bypassing the passthrough. */
  forward(namespace: string): Promise<{ address: string; close(): Promise<void> }>;
  stop(): Promise<void>;
}

interface Tracked {
  pod: V1Pod;
  gone: boolean;
  /** Start of the syncer container's first process, in clock ticks since boot. */
  startTicks: number | null;
  readyAfterMs: number | null;
  logFiles: string[];
  abort?: AbortController;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
const uptimeMs = () => Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 1000;

/** The memory cgroup of a pod's container (kubelet's cgroupfs layout under the node's root). */
function containerCgroup(cgroupRoot: string, pod: V1Pod, container: string): string | null {
  const id = pod.status?.containerStatuses
    ?.find((c) => c.name === container)
    ?.containerID?.replace(/^[a-z]+:\/\//, "");
  if (!id) return null;
  for (const qos of ["", "burstable", "besteffort"]) {
    const dir = join(CGROUP_MEMORY, cgroupRoot, "kubepods", qos, `pod${pod.metadata!.uid!}`, id);
    if (existsSync(dir)) return dir;
  }
  return null;
}

interface Process {
  name: string;
  uid: number;
  rssKiB: number;
  startTicks: number;
}

function processesIn(cgroup: string): Process[] {
  let pids: string[];
  try {
    pids = readFileSync(join(cgroup, "cgroup.procs"), "utf8").split("\n").filter(Boolean);
  } catch {
    return []; // the container is gone
  }
  return pids.flatMap((pid) => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return [
        {
          name: /^Name:\s+(.+)$/m.exec(status)?.[1] ?? "?",
          uid: Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]),
          rssKiB: Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0),
          // Field 22, counted after the command's closing parenthesis (field 2).
          startTicks: Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]),
        },
      ];
    } catch {
      return []; // exited meanwhile
    }
  });
}

const mib = (file: string) => Math.round(Number(readFileSync(file, "utf8")) / 2 ** 20);

/** Imports the vcluster images into the node, serves the per-PR API hosts, watches the pods. */
export async function startVclusterNode(
  admin: KubeConfig,
  node: NodeInfo,
  log: (line: string) => void = () => {},
): Promise<VclusterNode> {
  const images = ensureVclusterImages(log);
  const imported = Date.now();
  for (const name of Object.keys(images.refs)) importImage(node, join(images.dir, `${name}.tar`));
  log(`imported ${Object.values(images.refs).join(", ")} into the node (${Date.now() - imported} ms)`);

  const core = admin.makeApiClient(CoreV1Api);
  // Where the host's API server is for pods: the `kubernetes` Service's endpoint, on the host's
  // end of the node's link (connections from the host to the node come from there too).
  const slices = await admin.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({
    namespace: "default",
    labelSelector: "kubernetes.io/service-name=kubernetes",
  });
  const hostIP = slices.items[0]?.endpoints?.[0]?.addresses[0];
  if (!hostIP)
    throw new Error(
      "the kubernetes Service has no endpoint: the API server does not advertise the node's link",
    );
  const dialer: NodeDialer = await startNodeDialer(node, hostIP);
  const passthrough = await startPassthrough(admin, dialer);
  const runDir = mkdtempSync(join(tmpdir(), "prenv-vcluster-"));
  // PRENV_VCLUSTER_LOGS: keep the syncers' logs in this directory after the run.
  const logDir = process.env.PRENV_VCLUSTER_LOGS ?? runDir;
  mkdirSync(logDir, { recursive: true });

  const tracked = new Map<string, Tracked>();
  let stopped = false;
  const inNamespace = (namespace: string) =>
    [...tracked.values()].filter((t) => t.pod.metadata!.namespace === namespace);
  const current = (namespace: string) =>
    inNamespace(namespace).find((t) => !t.gone && !t.pod.metadata?.deletionTimestamp);

  const measure = async (t: Tracked) => {
    const { namespace, name } = t.pod.metadata as { namespace: string; name: string };
    while (!stopped && !t.gone && t.readyAfterMs === null) {
      const cgroup = containerCgroup(node.cgroupRoot, t.pod, SYNCER);
      const podIP = t.pod.status?.podIP;
      const started = cgroup ? processesIn(cgroup).map((p) => p.startTicks) : [];
      if (started.length > 0 && podIP) {
        t.startTicks ??= Math.min(...started);
        const secret = await core
          .readNamespacedSecret({ name: VCLUSTER_KUBECONFIG_SECRET, namespace })
          .catch(() => null);
        const data = secret?.data ?? {};
        if (data["client-certificate"] && data["client-key"]) {
          const status = await readyz(dialer, podIP, {
            cert: Buffer.from(data["client-certificate"], "base64"),
            key: Buffer.from(data["client-key"], "base64"),
          });
          if (status === 200) {
            t.readyAfterMs = Math.round(uptimeMs() - (t.startTicks / CLOCK_TICKS) * 1000);
            log(
              `vcluster pod ${namespace}/${name}: first Ready answer ${t.readyAfterMs} ms after the syncer started`,
            );
            return;
          }
        }
      }
      await sleep(200);
    }
  };

  const follow = async (t: Tracked) => {
    const { namespace, name } = t.pod.metadata as { namespace: string; name: string };
    let followed = -1;
    while (!stopped && !t.gone) {
      const status = t.pod.status?.containerStatuses?.find((c) => c.name === SYNCER);
      if (status?.state?.running && status.restartCount !== followed) {
        // One file per run of the container, written again from its start whenever the stream ends early.
        const file = join(logDir, `${namespace}-${name}-${status.restartCount}.log`);
        if (!t.logFiles.includes(file)) t.logFiles.push(file);
        await followLog(admin, { namespace, pod: name, container: SYNCER }, file, t);
        const now = t.pod.status?.containerStatuses?.find((c) => c.name === SYNCER);
        if (!now?.state?.running || now.restartCount !== status.restartCount) followed = status.restartCount;
      }
      await sleep(500);
    }
  };

  const watch = async () => {
    const pods = await core.listPodForAllNamespaces({ labelSelector: CONTROL_PLANE });
    const seen = new Set<string>();
    for (const pod of pods.items) {
      const uid = pod.metadata!.uid!;
      seen.add(uid);
      const t = tracked.get(uid);
      if (t) {
        t.pod = pod;
        continue;
      }
      const fresh: Tracked = { pod, gone: false, startTicks: null, readyAfterMs: null, logFiles: [] };
      tracked.set(uid, fresh);
      log(`vcluster pod ${pod.metadata!.namespace}/${pod.metadata!.name} created`);
      const report = (what: string) => (err: unknown) =>
        log(`${what} of ${pod.metadata!.name}: ${String(err)}`);
      void measure(fresh).catch(report("measuring"));
      void follow(fresh).catch(report("following the log"));
    }
    for (const [uid, t] of tracked) {
      if (!seen.has(uid) && !t.gone) {
        t.gone = true;
        t.abort?.abort();
      }
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await watch().catch((err: unknown) => log(`vcluster pods: ${String(err)}`));
      await sleep(500);
    }
  })();

  const metricsOf = async (namespace: string): Promise<ControlPlaneMetrics> => {
    const t = current(namespace);
    if (!t) throw new Error(`no vcluster control plane in ${namespace}`);
    const pod = await core.readNamespacedPod({ name: t.pod.metadata!.name!, namespace });
    const cgroup = containerCgroup(node.cgroupRoot, pod, SYNCER);
    if (!cgroup) throw new Error(`the syncer of ${namespace}/${pod.metadata!.name} does not run`);
    const rssKiB: Record<string, number> = {};
    const users = new Set<number>();
    for (const p of processesIn(cgroup)) {
      users.add(p.uid);
      if (p.rssKiB > 0) rssKiB[p.name] = (rssKiB[p.name] ?? 0) + p.rssKiB;
    }
    const readyAt = pod.status?.conditions?.find(
      (c) => c.type === "Ready" && c.status === "True",
    )?.lastTransitionTime;
    const created = pod.metadata?.creationTimestamp;
    return {
      pod: pod.metadata!.name!,
      node: pod.spec?.nodeName ?? "",
      readyAfterMs: t.readyAfterMs,
      podReadyAfterS:
        readyAt && created
          ? Math.round((new Date(readyAt).getTime() - new Date(created).getTime()) / 1000)
          : null,
      rssKiB,
      users: [...users],
      memoryMiB: mib(join(cgroup, "memory.usage_in_bytes")),
      peakMemoryMiB: mib(join(cgroup, "memory.max_usage_in_bytes")),
      podMemoryMiB: mib(join(dirname(cgroup), "memory.usage_in_bytes")),
    };
  };

  const logText = (namespace: string) =>
    inNamespace(namespace)
      .flatMap((t) => t.logFiles)
      .map((f) => (existsSync(f) ? readFileSync(f, "utf8") : ""))
      .join("");
  const forwards = new Set<Server>();
  return {
    address: passthrough.address,
    hostApiCidr: `${hostIP}/32`,
    log: logText,
    metrics: metricsOf,
    async running(namespace) {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: CONTROL_PLANE });
      return pods.items.length > 0;
    },
    async ready(namespace, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const pods = await core.listNamespacedPod({ namespace, labelSelector: CONTROL_PLANE });
        const pod = pods.items.find((p) => !p.metadata?.deletionTimestamp);
        if (pod?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) {
          // The first Ready answer comes no later than the kubelet's probe saw one.
          const t = tracked.get(pod.metadata!.uid!);
          while (t && t.readyAfterMs === null && Date.now() < deadline) await sleep(100);
          return metricsOf(namespace);
        }
        if (Date.now() > deadline) {
          throw new Error(
            `the vcluster pod in ${namespace} was not Ready within ${timeoutMs} ms (${pod?.status?.phase ?? "no pod"}):\n${logText(namespace).split("\n").slice(-40).join("\n")}`,
          );
        }
        await sleep(250);
      }
    },
    async forward(namespace) {
      const ip = current(namespace)?.pod.status?.podIP;
      if (!ip) throw new Error(`no vcluster control plane runs in ${namespace}`);
      const sockets = new Set<Socket>();
      const server = createServer((client) => {
        sockets.add(client);
        client.on("close", () => sockets.delete(client));
        client.on("error", () => client.destroy());
        dialer.dial(ip, API_PORT).then(
          (upstream) => {
            sockets.add(upstream);
            upstream.on("error", () => client.destroy());
            upstream.on("close", () => client.destroy());
            client.on("close", () => upstream.destroy());
            client.pipe(upstream).pipe(client);
          },
          () => client.destroy(),
        );
      });
      forwards.add(server);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return {
        address: `127.0.0.1:${(server.address() as { port: number }).port}`,
        async close() {
          forwards.delete(server);
          for (const s of sockets) s.destroy();
          await new Promise<void>((resolve) => server.close(() => resolve()));
        },
      };
    },
    async stop() {
      stopped = true;
      await loop;
      for (const t of tracked.values()) t.abort?.abort();
      for (const server of forwards) server.close();
      await passthrough.close();
      await dialer.close();
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}

/** One GET of the virtual API's /readyz at `ip`, from inside the node, as its admin. */
async function readyz(dialer: NodeDialer, ip: string, creds: { cert: Buffer; key: Buffer }): Promise<number> {
  const socket = await dialer.dial(ip, API_PORT).catch(() => null);
  if (!socket) return 0;
  return new Promise<number>((resolve) => {
    const req = request(
      {
        host: ip,
        port: API_PORT,
        path: "/readyz",
        timeout: 2000,
        // Over the socket from inside the node, and only that: no agent, which would dial itself.
        createConnection: () => tlsConnect({ socket, ...creds, rejectUnauthorized: false }),
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
}

/** The host namespace as the vcluster's service account would act in it. */
export function asVclusterServiceAccount(hostAdmin: KubeConfig, namespace: string): KubeConfig {
  return new ImpersonatingKubeConfig(hostAdmin, {
    user: serviceAccountUser(namespace, VCLUSTER_SERVICE_ACCOUNT),
  });
}

/**
 * `kubectl logs -f` into `file` until the stream ends or `t.abort` is used. Our own request rather
 * than client-node's Log, whose follow stream has no error handler: aborting it (or the API server
 * stopping under it) would be an uncaught exception in the test run.
 */
async function followLog(
  kc: KubeConfig,
  c: { namespace: string; pod: string; container: string },
  file: string,
  t: { abort?: AbortController },
): Promise<void> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) return;
  const url = new URL(`${server}/api/v1/namespaces/${c.namespace}/pods/${c.pod}/log`);
  url.searchParams.set("container", c.container);
  url.searchParams.set("follow", "true");
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const abort = new AbortController();
  t.abort = abort;
  await new Promise<void>((resolve) => {
    const out = createWriteStream(file);
    out.once("close", () => resolve());
    const req = request(url, { ...opts, method: "GET", signal: abort.signal }, (res) => {
      res.on("error", () => out.end());
      if (res.statusCode !== 200) {
        res.resume();
        out.end();
        return;
      }
      res.pipe(out);
    });
    req.on("error", () => out.end());
    req.end();
  });
}
