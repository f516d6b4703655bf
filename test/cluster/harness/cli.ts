// `npm run cluster:up` / `npm run cluster:down`: the test control plane and its node as a
// long-running local cluster, for trying prenv by hand (`npm start` with KUBECONFIG pointing at
// it), with the Gateway API CRDs and, on the node, the data plane and its Gateway.
// `cluster:up -- --no-node` starts the control plane alone (with the CRDs).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { loadKubeConfig } from "../../../src/adapters/kubernetes/kubeconfig.js";
import { ACCESS_CONTEXT, ADMIN_CONTEXT, BOT_CONTEXT, startControlPlane } from "./controlplane.js";
import { ensureGatewayBuild, installGatewayCrds, startDataPlane, type DataPlaneInfo } from "./gateway.js";
import {
  createNodeNetwork,
  networkState,
  nodeMemory,
  startNode,
  stopNode,
  type NodeInfo,
  type NodeState,
} from "./node.js";
import { decideNode } from "./tier.js";

interface State {
  pids: number[];
  etcdDataDir: string;
  kubeconfig: string;
  server: string;
  node?: { state: NodeState; info: NodeInfo };
  dataPlane?: DataPlaneInfo;
}

const cacheRoot =
  process.env.PRENV_CLUSTER_CACHE ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "prenv-cluster");
const runDir = process.env.PRENV_CLUSTER_RUN ?? join(cacheRoot, "run");
const stateFile = join(runDir, "state.json");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readState(): State | undefined {
  return existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, "utf8")) as State) : undefined;
}

function usage(s: State): string {
  const node = s.node
    ? [
        `  node ${s.node.info.name} (${s.node.info.nodeIP}): kubelet, containerd, kube-proxy, CoreDNS, network policy`,
        `  images: ${Object.values(s.node.info.images).join(", ")}`,
        `  memory now: ${JSON.stringify(nodeMemory(s.node.state))}`,
      ]
    : ["  no node (pods are not run)"];
  const d = s.dataPlane;
  const gateway = d
    ? [
        `  Gateway ${d.gateway.namespace}/${d.gateway.name} (Traefik ${d.versions.traefik}, Gateway API ${d.versions["gateway-api"]}) at ${d.address}:`,
        `    curl --cacert ${d.caDir}/ca.crt --resolve <namespace>.${d.baseDomain}:443:${d.address.split(":")[0]} ... (port ${d.address.split(":")[1]})`,
        `    prenv: PRENV_BASE_DOMAIN=${d.baseDomain} PRENV_GATEWAY_ADDRESS=${d.address} PRENV_VCLUSTER_API_ADDRESS=${d.address} PRENV_INGRESS_NAMESPACE=${d.gateway.namespace}`,
      ]
    : ["  Gateway API CRDs installed; no data plane (no node)"];
  return [
    `control plane running at ${s.server}`,
    ...node,
    ...gateway,
    `  export KUBECONFIG=${s.kubeconfig}`,
    `  contexts: admin (cluster-admin), ${BOT_CONTEXT} and ${ACCESS_CONTEXT} (exactly deploy/rbac.yaml's rights for each)`,
    `  run prenv against it: KUBECONFIG=${s.kubeconfig} KUBE_CONTEXT=${BOT_CONTEXT} PRENV_ACCESS_KUBE_CONTEXT=${ACCESS_CONTEXT} npm start`,
    `  stop it: npm run cluster:down`,
  ].join("\n");
}

async function up(): Promise<void> {
  const existing = readState();
  if (existing && [...existing.pids, ...(existing.node?.state.pids ?? [])].every(alive)) {
    console.log(usage(existing));
    return;
  }
  if (existing) await down();
  mkdirSync(runDir, { recursive: true });
  const log = (l: string) => console.error(l);
  const wantNode = process.argv.includes("--no-node")
    ? { run: false as const, reason: "--no-node" }
    : decideNode();
  if (!wantNode.run) console.error(`starting without a node: ${wantNode.reason}`);
  const net = wantNode.run ? createNodeNetwork(runDir) : undefined;
  let plane: Awaited<ReturnType<typeof startControlPlane>> | undefined;
  try {
    plane = await startControlPlane({ runDir, detached: true, log, nodeAddress: net?.hostIP });
    const node = net ? await startNode({ plane, net, detached: true, log }) : undefined;
    const admin = loadKubeConfig(plane.kubeconfigPath, ADMIN_CONTEXT);
    const gatewayBuild = ensureGatewayBuild(log);
    await installGatewayCrds(admin, gatewayBuild);
    const dataPlane = node
      ? await startDataPlane({ admin, node: node.info, buildDir: gatewayBuild, runDir, log })
      : undefined;
    const state: State = {
      pids: plane.pids,
      etcdDataDir: plane.etcdDataDir,
      kubeconfig: plane.kubeconfigPath,
      server: plane.server,
      ...(node ? { node: { state: node.state, info: node.info } } : {}),
      ...(dataPlane ? { dataPlane } : {}),
    };
    writeFileSync(stateFile, JSON.stringify(state, null, 2));
    console.log(usage(state));
  } catch (err) {
    if (net) await stopNode(networkState(net));
    await plane?.stop();
    throw err;
  }
}

async function down(): Promise<void> {
  const s = readState();
  if (!s) {
    console.log("no control plane is running (nothing in " + runDir + ")");
    return;
  }
  if (s.node) await stopNode(s.node.state);
  for (const pid of [...s.pids].reverse()) {
    if (!alive(pid)) continue;
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + 10_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid, "SIGKILL");
  }
  rmSync(s.etcdDataDir, { recursive: true, force: true });
  if (s.dataPlane) rmSync(s.dataPlane.caDir, { recursive: true, force: true });
  rmSync(stateFile, { force: true });
  console.log(`control plane${s.node ? " and node" : ""} stopped (pids ${s.pids.join(", ")})`);
}

const cmd = process.argv[2];
if (cmd === "up") await up();
else if (cmd === "down") await down();
else {
  console.error("usage: cli.ts up|down");
  process.exit(2);
}
