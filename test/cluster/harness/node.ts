// A real node for the test control plane: containerd (runc shim, runc), kubelet, kube-proxy
// (nftables mode), kube-router's network policy controller, CNI (bridge, host-local, loopback,
// portmap) and CoreDNS as a pod, running images built and packed here (no registry).
//
// Several test runs share this machine, so the node keeps everything host-wide to itself:
// - its own network namespace (bridge, pod interfaces, iptables/nftables rules, ipsets, conntrack,
//   ports, ip_forward), joined to the host by one veth pair named after the run, on a /30 of the
//   benchmarking range 198.18.0.0/15 chosen at random and checked unused;
// - its own private mount namespace with fresh tmpfs over /run, /var/lib and /var/log, so
//   containerd's and kubelet's default paths (sockets, shim sockets, netns mounts, CNI state, pod
//   logs, image store) are per run and vanish with it; kubelet's own directory (/var/lib/kubelet,
//   where pods' emptyDir volumes live) is a directory of the run on disk instead, as on a real
//   node: pages of a tmpfs are charged to the pod that writes them and cannot be reclaimed, so
//   a pod that copies a few hundred MiB into an emptyDir (vcluster's init container does) would be
//   OOM-killed here and nowhere else; in it, kubelet's kernel tunables are read from files of the
//   run, so it never rewrites the host's (vm.overcommit_memory, kernel.panic...);
// - its own cgroup root (/prenv-node-<id>) in every v1 hierarchy: the node's daemons, their shims
//   and every container live under it.
// Teardown kills what runs in that cgroup tree, unmounts the two namespace files (which destroys
// the namespaces, their mounts and interfaces) and removes the cgroups.
//
// An instance-metadata stand-in (the AWS boundary) answers on 169.254.169.254:80 from a third
// network namespace routed through the node, so the default-deny policy's metadata rule is
// tested against something that answers.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { CoreV1Api, AppsV1Api } from "@kubernetes/client-node";
import { loadKubeConfig } from "../../../src/adapters/kubernetes/kubeconfig.js";
import { applyObjects } from "./apply.js";
import type { ControlPlane } from "./controlplane.js";
import { repoRoot, writeKubeconfig } from "./controlplane.js";

export const NODE_NAME = "prenv-node";
export const POD_CIDR = "10.244.0.0/24";
export const CLUSTER_CIDR = "10.244.0.0/16";
export const SERVICE_CIDR = "10.96.0.0/16";
export const CLUSTER_DNS = "10.96.0.10";
export const METADATA_ADDRESS = "169.254.169.254";
const CGROUP_BASE = "/sys/fs/cgroup";
const CONTAINERD_SOCKET = "/run/containerd/containerd.sock";

/** What a test needs to look at the node (serialisable: handed to test files by vitest). */
export interface NodeInfo {
  name: string;
  nodeIP: string;
  /** Files holding the node's network and mount namespaces (for nsenter). */
  netns: string;
  mntns: string;
  /** containerd's socket, inside the node's mount namespace. */
  containerd: string;
  /** ctr, for looking at containers from a test. */
  ctr: string;
  /** Image short name (web, unready, crash, hog, pause, coredns) -> reference. */
  images: Record<string, string>;
  versions: Record<string, string>;
  cgroupRoot: string;
}

/** Everything teardown needs, also from another process (`npm run cluster:down`). */
export interface NodeState {
  id: string;
  dir: string;
  netns: string;
  mntns: string;
  hostIf: string;
  cgroupRoot: string;
  pids: number[];
}

export interface NodeNetwork {
  id: string;
  dir: string;
  netns: string;
  mntns: string;
  hostIf: string;
  hostIP: string;
  nodeIP: string;
}

export interface TestNode {
  info: NodeInfo;
  state: NodeState;
  /** Milliseconds from start to the node Ready, and to CoreDNS (the first pod) Ready. */
  timings: { nodeReadyMs: number; firstPodReadyMs: number };
  stop(): Promise<void>;
}

/** Why a node cannot run here, or null when it can. */
export function nodeUnsupported(): string | null {
  if (process.platform !== "linux") return "the test node needs Linux";
  if (process.getuid?.() !== 0) return "the test node needs root (namespaces, cgroups, mounts)";
  if (!existsSync(join(CGROUP_BASE, "memory"))) return "the test node needs cgroup v1 hierarchies";
  for (const tool of ["unshare", "nsenter", "ip", "iptables", "ipset", "nft", "mount", "umount"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0)
      return `the test node needs '${tool}' (apt-get install iproute2 iptables ipset nftables util-linux)`;
  }
  return null;
}

/** Builds (or finds cached) the node's binaries and images; returns the cache directory. */
export function ensureNodeBuild(log: (line: string) => void = () => {}): string {
  const started = Date.now();
  const out = execFileSync("bash", [join(repoRoot, "test/cluster/node/build.sh")], {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
  });
  const dir = out.trim().split("\n").at(-1) ?? "";
  if (!existsSync(join(dir, "complete"))) throw new Error(`node/build.sh did not finish in '${dir}'`);
  log(`node binaries and images ready in ${dir} (${Date.now() - started} ms)`);
  return dir;
}

function sh(script: string, opts: { input?: string } = {}): string {
  try {
    return execFileSync("sh", ["-euc", script], {
      encoding: "utf8",
      stdio: ["pipe", "pipe", "pipe"],
      input: opts.input ?? "",
    });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string };
    throw new Error(
      `node setup failed: ${(e.stderr || e.stdout || String(err)).trim()}\n--- script:\n${script}`,
      {
        cause: err,
      },
    );
  }
}

/** Runs `argv` inside the node's namespaces (network and mount). */
export function inNode(node: Pick<NodeInfo, "netns" | "mntns">, argv: string[]): string {
  return execFileSync("nsenter", [`--net=${node.netns}`, `--mount=${node.mntns}`, "--", ...argv], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

type RuntimeRef = Pick<NodeInfo, "netns" | "mntns" | "ctr" | "containerd">;

/** Runs containerd's `ctr` in the node, on Kubernetes' containerd namespace (k8s.io). */
export function ctr(node: RuntimeRef, ...args: string[]): string {
  return inNode(node, [node.ctr, "--address", node.containerd, "--namespace", "k8s.io", ...args]);
}

/**
 * Imports an image tarball (from imgpack, or `docker save`) into the node's containerd, where
 * kubelet finds it (pull policy IfNotPresent, or a tag other than latest).
 */
export function importImage(node: RuntimeRef, tarball: string): void {
  ctr(node, "images", "import", "--local", tarball);
}

/** The /30 subnets of 198.18.0.0/15 that interfaces of this machine already use. */
function usedLinks(): Set<number> {
  const used = new Set<number>();
  const out = execFileSync("ip", ["-4", "-o", "addr", "show"], { encoding: "utf8" });
  for (const m of out.matchAll(/inet (198)\.(1[89])\.(\d+)\.(\d+)\//g)) {
    const n = ((Number(m[2]) - 18) << 14) | (Number(m[3]) << 6) | (Number(m[4]) >> 2);
    used.add(n);
  }
  return used;
}

function linkAddresses(n: number): { hostIP: string; nodeIP: string; subnet: string } {
  const b = 18 + (n >> 14);
  const c = (n >> 6) & 255;
  const d = (n & 63) << 2;
  return {
    hostIP: `198.${b}.${c}.${d + 1}`,
    nodeIP: `198.${b}.${c}.${d + 2}`,
    subnet: `198.${b}.${c}.${d}/30`,
  };
}

/** Kernel tunables kubelet insists on (and would otherwise write host-wide), as it wants them. */
const KUBELET_SYSCTLS: Record<string, string> = {
  "vm/overcommit_memory": "1",
  "vm/panic_on_oom": "0",
  "kernel/panic": "10",
  "kernel/panic_on_oops": "1",
  "kernel/keys/root_maxkeys": "1000000",
  "kernel/keys/root_maxbytes": "25000000",
};

/**
 * Creates the node's namespaces and its link to the host. The control plane must then advertise
 * `hostIP` (pods reach the API server there) before startNode().
 */
export function createNodeNetwork(runDir: string): NodeNetwork {
  const id = randomBytes(3).toString("hex");
  const dir = join(runDir, "node");
  const nsDir = join(dir, "ns");
  const sysctlDir = join(dir, "sysctl");
  const kubeletDir = join(dir, "kubelet");
  mkdirSync(nsDir, { recursive: true });
  mkdirSync(sysctlDir, { recursive: true });
  mkdirSync(kubeletDir, { recursive: true });
  const netns = join(nsDir, "net");
  const mntns = join(nsDir, "mnt");
  writeFileSync(netns, "");
  writeFileSync(mntns, "");
  const binds = Object.entries(KUBELET_SYSCTLS).map(([key, value]) => {
    const file = join(sysctlDir, key.replace(/\//g, "."));
    writeFileSync(file, `${value}\n`);
    return `mount --bind ${file} /proc/sys/${key}`;
  });
  const hostIf = `pv-${id}`;
  for (let attempt = 0; ; attempt++) {
    const used = usedLinks();
    let n: number;
    do n = randomBytes(2).readUInt16BE(0) & 0x7fff;
    while (used.has(n));
    const { hostIP, nodeIP, subnet } = linkAddresses(n);
    if (attempt === 0) {
      sh(`unshare --net=${netns} --mount=${mntns} --propagation private -- sh -euc '
mount -t tmpfs -o mode=0755,size=4g prenv-node-run /run
mount -t tmpfs -o mode=0755,size=8g prenv-node-lib /var/lib
mkdir /var/lib/kubelet && mount --bind ${kubeletDir} /var/lib/kubelet
mount -t tmpfs -o mode=0755,size=1g prenv-node-log /var/log
${binds.join("\n")}
ip link set lo up
echo 1 > /proc/sys/net/ipv4/ip_forward
echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables
ip link add eth0 type veth peer name ${hostIf} netns ${process.pid}
ip link set eth0 up
# The instance-metadata stand-in lives one hop away, as on a cloud VM.
ip netns add imds
ip link add imds0 type veth peer name eth0 netns imds
ip addr add 169.254.169.253/30 dev imds0
ip link set imds0 up
ip -n imds link set lo up
ip -n imds addr add ${METADATA_ADDRESS}/30 dev eth0
ip -n imds link set eth0 up
ip -n imds route add default via 169.254.169.253
'`);
    } else {
      inNode({ netns, mntns }, ["ip", "addr", "flush", "dev", "eth0"]);
      sh(`ip addr flush dev ${hostIf}`);
    }
    inNode({ netns, mntns }, ["ip", "addr", "add", `${nodeIP}/30`, "dev", "eth0"]);
    sh(`ip addr add ${hostIP}/30 dev ${hostIf} && ip link set ${hostIf} up`);
    // Another run may have taken the same /30 at the same moment: then pick again.
    const holders = execFileSync("ip", ["-4", "-o", "addr", "show", "to", subnet], { encoding: "utf8" })
      .trim()
      .split("\n")
      .filter(Boolean);
    if (holders.length === 1) return { id, dir, netns, mntns, hostIf, hostIP, nodeIP };
    if (attempt > 5)
      throw new Error(`no free /30 in 198.18.0.0/15 for the node's link after ${attempt} tries`);
  }
}

/** What stopNode() needs to remove a network made by createNodeNetwork() (and a node on it). */
export function networkState(net: NodeNetwork): NodeState {
  return {
    id: net.id,
    dir: net.dir,
    netns: net.netns,
    mntns: net.mntns,
    hostIf: net.hostIf,
    cgroupRoot: `/prenv-node-${net.id}`,
    pids: [],
  };
}

/** cgroup v1 hierarchies mounted on this machine (cpu, memory, pids, ..., the named systemd one). */
function cgroupHierarchies(): string[] {
  return readdirSync(CGROUP_BASE).filter((d) => {
    const p = join(CGROUP_BASE, d);
    return statSync(p).isDirectory() && existsSync(join(p, "cgroup.procs")) && d !== "unified";
  });
}

function createCgroups(root: string): void {
  for (const h of cgroupHierarchies()) {
    for (const sub of ["", "/system"]) {
      const dir = join(CGROUP_BASE, h, root + sub);
      mkdirSync(dir, { recursive: true });
      if (h === "cpuset") {
        // A new cpuset has no CPUs or memory nodes until given its parent's.
        for (const f of ["cpuset.cpus", "cpuset.mems"]) {
          const parent = readFileSync(join(dir, "..", f), "utf8").trim();
          writeFileSync(join(dir, f), parent);
        }
      }
    }
  }
}

function joinCgroup(root: string, pid: number): void {
  for (const h of cgroupHierarchies()) {
    appendFileSync(join(CGROUP_BASE, h, root, "system", "cgroup.procs"), `${pid}\n`);
  }
}

/** Every process in the cgroup tree (memory hierarchy, which holds every process of the node). */
function cgroupPids(root: string): number[] {
  const pids = new Set<number>();
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const line of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")) {
      if (line.trim()) pids.add(Number(line));
    }
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
  };
  walk(join(CGROUP_BASE, "memory", root));
  return [...pids];
}

function removeCgroups(root: string): string[] {
  const left: string[] = [];
  const rmTree = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmTree(join(dir, e.name));
    try {
      execFileSync("rmdir", [dir], { stdio: "ignore" });
    } catch {
      left.push(dir);
    }
  };
  for (const h of [...cgroupHierarchies(), "unified"]) rmTree(join(CGROUP_BASE, h, root));
  return left;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pids: number[], ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (pids.some(alive)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/**
 * Stops the node and removes everything it made on the host: its processes (daemons, shims,
 * containers: all of its cgroup tree), its namespaces (with their interfaces and mounts), the
 * host's end of its link and its cgroups. Safe to call twice, and from another process.
 */
export async function stopNode(s: NodeState): Promise<void> {
  // The daemons first, given a moment to stop; then whatever is left in the tree (containers,
  // shims, a daemon that did not stop) is killed. Nothing of the node outlives the namespaces.
  for (const pid of s.pids.filter(alive)) process.kill(pid, "SIGTERM");
  await waitGone(s.pids, 2_000);
  for (let i = 0; i < 50; i++) {
    const left = cgroupPids(s.cgroupRoot);
    if (!left.length) break;
    for (const pid of left) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    await waitGone(left, 200);
  }
  for (const pin of [s.netns, s.mntns]) {
    if (existsSync(pin)) spawnSync("umount", [pin], { stdio: "ignore" });
  }
  // The kernel deletes a veth pair with its namespace; this catches a half-made start.
  spawnSync("ip", ["link", "del", s.hostIf], { stdio: "ignore" });
  let left: string[] = [];
  for (let i = 0; i < 20; i++) {
    left = removeCgroups(s.cgroupRoot);
    if (!left.length) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  if (left.length) throw new Error(`the node's cgroups could not be removed: ${left.join(", ")}`);
}

interface Launched {
  name: string;
  child: ChildProcess;
  logFile: string;
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export interface StartNodeOptions {
  plane: ControlPlane;
  net: NodeNetwork;
  detached?: boolean;
  log?: (line: string) => void;
}

export async function startNode(opts: StartNodeOptions): Promise<TestNode> {
  const { plane, net } = opts;
  const log = opts.log ?? (() => {});
  const detached = opts.detached ?? false;
  const started = Date.now();
  const build = ensureNodeBuild(log);
  const bin = join(build, "bin");
  const images = JSON.parse(readFileSync(join(build, "images.json"), "utf8")) as Record<string, string>;
  const versions: Record<string, string> = {
    ...(JSON.parse(readFileSync(join(build, "versions.json"), "utf8")) as Record<string, string>),
    kubernetes: execFileSync(join(plane.bin, "kubelet"), ["--version"], { encoding: "utf8" })
      .trim()
      .split(" ")[1]!,
  };
  const state = networkState(net);
  const cgroupRoot = state.cgroupRoot;
  const procs: Launched[] = [];
  const etc = join(net.dir, "etc");
  const logs = join(plane.runDir, "logs");
  mkdirSync(etc, { recursive: true });
  mkdirSync(join(etc, "cni"), { recursive: true });

  const launch = (name: string, argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const logFile = join(logs, `node-${name}.log`);
    const fd = openSync(logFile, "a");
    const child = spawn("nsenter", [`--net=${net.netns}`, `--mount=${net.mntns}`, "--", ...argv], {
      stdio: ["ignore", fd, fd],
      detached,
      env: { PATH: `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, ...env },
    });
    if (detached) child.unref();
    if (!child.pid) throw new Error(`could not start ${name}`);
    joinCgroup(cgroupRoot, child.pid);
    state.pids.push(child.pid);
    procs.push({ name, child, logFile });
  };
  const check = (what: string) => {
    for (const p of procs) {
      if (p.child.exitCode !== null || p.child.signalCode !== null)
        throw new Error(
          `${p.name} exited (${p.child.exitCode ?? p.child.signalCode}) while ${what}:\n${tail(p.logFile)}`,
        );
    }
  };
  const waitFor = async (what: string, ms: number, probe: () => boolean | Promise<boolean>) => {
    const deadline = Date.now() + ms;
    for (;;) {
      check(`waiting for ${what}`);
      if (
        await Promise.resolve()
          .then(probe)
          .catch(() => false)
      )
        return;
      if (Date.now() > deadline)
        throw new Error(
          `timed out after ${ms} ms waiting for ${what}:\n${procs.map((p) => `--- ${p.name}\n${tail(p.logFile, 15)}`).join("\n")}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  try {
    createCgroups(cgroupRoot);
    const admin = loadKubeConfig(plane.kubeconfigPath, "admin");
    const server = plane.server.replace("127.0.0.1", net.hostIP);
    const pki = plane.pki;
    const kubeconfig = (name: string, user: string, groups: string[]) => {
      const path = join(etc, `${name}.kubeconfig`);
      writeKubeconfig(path, server, pki.caCert, { [name]: pki.client(`node-${name}`, user, groups) }, name);
      return path;
    };

    // containerd, with CNI and the pause image of this run.
    writeFileSync(join(etc, "cni", "10-prenv.conflist"), JSON.stringify(cniConfig(net.id), null, 2));
    writeFileSync(join(etc, "containerd.toml"), containerdConfig(bin, join(etc, "cni"), images.pause!));
    launch("containerd", [
      join(bin, "containerd"),
      "--config",
      join(etc, "containerd.toml"),
      "--log-level",
      "warn",
    ]);
    const runtime = {
      netns: net.netns,
      mntns: net.mntns,
      ctr: join(bin, "ctr"),
      containerd: CONTAINERD_SOCKET,
    };
    await waitFor("containerd", 30_000, () => {
      ctr(runtime, "version");
      return true;
    });
    for (const name of Object.keys(images)) importImage(runtime, join(build, "images", `${name}.tar`));
    log(
      `containerd ${versions.containerd} up, ${Object.keys(images).length} images imported (${Date.now() - started} ms)`,
    );

    // kubelet
    const serving = pki.server("kubelet-serving", NODE_NAME, [net.nodeIP]);
    writeFileSync(join(etc, "resolv.conf"), "");
    writeFileSync(
      join(etc, "kubelet.yaml"),
      stringify(
        kubeletConfig({ cgroupRoot, caCert: pki.caCert, serving, resolvConf: join(etc, "resolv.conf") }),
      ),
    );
    launch("kubelet", [
      join(plane.bin, "kubelet"),
      `--config=${join(etc, "kubelet.yaml")}`,
      `--kubeconfig=${kubeconfig("kubelet", `system:node:${NODE_NAME}`, ["system:nodes"])}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${net.nodeIP}`,
      "--v=1",
    ]);

    // kube-proxy (nftables).
    writeFileSync(
      join(etc, "kube-proxy.yaml"),
      stringify(kubeProxyConfig(kubeconfig("kube-proxy", "system:kube-proxy", []))),
    );
    launch("kube-proxy", [
      join(plane.bin, "kube-proxy"),
      `--config=${join(etc, "kube-proxy.yaml")}`,
      "--v=1",
    ]);

    // The instance-metadata stand-in.
    launch("metadata", ["nsenter", "--net=/run/netns/imds", "--", join(bin, "testapp"), "web"], {
      LISTEN: `${METADATA_ADDRESS}:80`,
      NAME: "instance-metadata",
      APP_ROLE: "the cloud's instance metadata",
    });

    const core = admin.makeApiClient(CoreV1Api);
    await waitFor("the node to be Ready", 60_000, async () => {
      const n = await core.readNode({ name: NODE_NAME });
      const ready = n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
      return ready && !(n.spec?.taints ?? []).some((t) => t.effect === "NoSchedule");
    });
    const nodeReadyMs = Date.now() - started;
    log(`node ${NODE_NAME} Ready after ${nodeReadyMs} ms`);

    // The policy controller reads its Node object at start: it exists now.
    await applyObjects(admin, netpolRbac());
    launch("netpol", [
      join(bin, "netpol"),
      `--kubeconfig=${kubeconfig("netpol", NETPOL_USER, [])}`,
      `--hostname-override=${NODE_NAME}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      "--metrics-port=0",
      "--health-port=0",
      "--v=1",
    ]);

    await applyObjects(admin, coreDnsObjects(images.coredns!));
    const apps = admin.makeApiClient(AppsV1Api);
    await waitFor(
      "CoreDNS to be Ready (a pod reaching the API through the kubernetes Service)",
      60_000,
      async () => {
        const d = await apps.readNamespacedDeployment({ name: "coredns", namespace: "kube-system" });
        return (d.status?.readyReplicas ?? 0) >= 1;
      },
    );
    const firstPodReadyMs = Date.now() - started;
    log(`cluster DNS Ready after ${firstPodReadyMs} ms`);

    const info: NodeInfo = {
      name: NODE_NAME,
      nodeIP: net.nodeIP,
      netns: net.netns,
      mntns: net.mntns,
      containerd: CONTAINERD_SOCKET,
      ctr: join(bin, "ctr"),
      images,
      versions,
      cgroupRoot,
    };
    writeFileSync(join(net.dir, "state.json"), JSON.stringify(state, null, 2));
    let stopped = false;
    return {
      info,
      state,
      timings: { nodeReadyMs, firstPodReadyMs },
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopNode(state);
      },
    };
  } catch (err) {
    await stopNode(state).catch(() => undefined);
    throw err;
  }
}

const NETPOL_USER = "prenv-test:network-policy-controller";

function cniConfig(id: string) {
  return {
    cniVersion: "1.0.0",
    name: `prenv-${id}`,
    plugins: [
      {
        type: "bridge",
        bridge: `br-${id}`,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: POD_CIDR }]],
          routes: [{ dst: "0.0.0.0/0" }],
        },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
}

function containerdConfig(bin: string, cniDir: string, pause: string): string {
  // Version 3 configuration (containerd 2.x). Every path is containerd's default, which the
  // node's mount namespace makes private to this run.
  return `version = 3
disabled_plugins = ["io.containerd.nri.v1.nri"]

[grpc]
  address = "${CONTAINERD_SOCKET}"

[plugins."io.containerd.cri.v1.runtime"]
  # root here lacks CAP_SYS_RESOURCE: never ask for a lower oom_score_adj than containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["${join(bin, "cni")}"]
    conf_dir = "${cniDir}"
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "${join(bin, "runc")}"
        SystemdCgroup = false

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "${pause}"

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
`;
}

function kubeletConfig(o: {
  cgroupRoot: string;
  caCert: string;
  serving: { cert: string; key: string };
  resolvConf: string;
}) {
  return {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    // This machine has cgroup v1 hierarchies and no systemd.
    failCgroupV1: false,
    cgroupDriver: "cgroupfs",
    cgroupRoot: o.cgroupRoot,
    failSwapOn: false,
    containerRuntimeEndpoint: `unix://${CONTAINERD_SOCKET}`,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true, cacheTTL: "10s" },
      x509: { clientCAFile: o.caCert },
    },
    authorization: { mode: "Webhook", webhook: { cacheAuthorizedTTL: "10s", cacheUnauthorizedTTL: "5s" } },
    tlsCertFile: o.serving.cert,
    tlsPrivateKeyFile: o.serving.key,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    clusterDNS: [CLUSTER_DNS],
    clusterDomain: "cluster.local",
    resolvConf: o.resolvConf,
    // The store is a tmpfs of the run: never evict or collect the imported images.
    evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
    nodeStatusUpdateFrequency: "2s",
    maxPods: 60,
    containerLogMaxSize: "1Mi",
    shutdownGracePeriod: "0s",
  };
}

function kubeProxyConfig(kubeconfig: string) {
  return {
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    mode: "nftables",
    clientConnection: { kubeconfig },
    hostnameOverride: NODE_NAME,
    clusterCIDR: CLUSTER_CIDR,
    healthzBindAddress: "127.0.0.1:10256",
    metricsBindAddress: "127.0.0.1:10249",
    // Leave the kernel's connection-tracking limits alone (they are not per namespace).
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
    nftables: { minSyncPeriod: "0s", syncPeriod: "30s" },
  };
}

function netpolRbac(): object[] {
  return [
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: NETPOL_USER },
      rules: [
        { apiGroups: [""], resources: ["pods", "namespaces", "nodes"], verbs: ["get", "list", "watch"] },
        { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["get", "list", "watch"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: NETPOL_USER },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: NETPOL_USER },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: NETPOL_USER }],
    },
  ];
}

function coreDnsObjects(image: string): object[] {
  const ns = "kube-system";
  const labels = { "k8s-app": "kube-dns" };
  const corefile = [
    ".:1053 {",
    "    errors",
    "    health :8080",
    "    ready :8181",
    "    kubernetes cluster.local in-addr.arpa ip6.arpa {",
    "        pods insecure",
    "        ttl 30",
    "    }",
    "    cache 30",
    "}",
    "",
  ].join("\n");
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "coredns", namespace: ns } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "prenv-test:coredns" },
      rules: [
        {
          apiGroups: [""],
          resources: ["endpoints", "services", "pods", "namespaces"],
          verbs: ["list", "watch"],
        },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "prenv-test:coredns" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "prenv-test:coredns" },
      subjects: [{ kind: "ServiceAccount", name: "coredns", namespace: ns }],
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "coredns", namespace: ns },
      data: { Corefile: corefile },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "coredns", namespace: ns, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: "coredns",
            securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
              {
                name: "coredns",
                image,
                imagePullPolicy: "IfNotPresent",
                ports: [
                  { name: "dns", containerPort: 1053, protocol: "UDP" },
                  { name: "dns-tcp", containerPort: 1053, protocol: "TCP" },
                ],
                readinessProbe: { httpGet: { path: "/ready", port: 8181 }, periodSeconds: 1 },
                livenessProbe: { httpGet: { path: "/health", port: 8080 }, periodSeconds: 10 },
                resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                volumeMounts: [{ name: "config", mountPath: "/etc/coredns" }],
              },
            ],
            volumes: [{ name: "config", configMap: { name: "coredns" } }],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "kube-dns", namespace: ns, labels },
      spec: {
        clusterIP: CLUSTER_DNS,
        selector: labels,
        ports: [
          { name: "dns", port: 53, targetPort: 1053, protocol: "UDP" },
          { name: "dns-tcp", port: 53, targetPort: 1053, protocol: "TCP" },
        ],
      },
    },
  ];
}

/** Memory of the node: resident memory of its daemons, and of all its cgroup tree (pods too). */
export function nodeMemory(s: Pick<NodeState, "pids" | "cgroupRoot">): {
  daemonsRssMiB: number;
  cgroupMiB: number;
} {
  let rss = 0;
  for (const pid of s.pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      rss += Number(m?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  let cgroup = 0;
  try {
    cgroup = Number(readFileSync(join(CGROUP_BASE, "memory", s.cgroupRoot, "memory.usage_in_bytes"), "utf8"));
  } catch {
    /* gone */
  }
  return { daemonsRssMiB: Math.round(rss / 1024), cgroupMiB: Math.round(cgroup / 1048576) };
}

/** Removes what a node left behind if its run died without teardown (state.json in `dir`). */
export function readNodeState(dir: string): NodeState | undefined {
  const file = join(dir, "state.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as NodeState) : undefined;
}

export function removeNodeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
