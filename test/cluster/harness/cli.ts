// `npm run cluster:up` / `npm run cluster:down`: the test control plane as a long-running local
// cluster, for trying prenv by hand (`npm start` with KUBECONFIG pointing at it).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ACCESS_CONTEXT, BOT_CONTEXT, startControlPlane } from "./controlplane.js";

interface State {
  pids: number[];
  etcdDataDir: string;
  kubeconfig: string;
  server: string;
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
  return [
    `control plane running at ${s.server}`,
    `  export KUBECONFIG=${s.kubeconfig}`,
    `  contexts: admin (cluster-admin), ${BOT_CONTEXT} and ${ACCESS_CONTEXT} (exactly deploy/rbac.yaml's rights for each)`,
    `  run prenv against it: KUBECONFIG=${s.kubeconfig} KUBE_CONTEXT=${BOT_CONTEXT} PRENV_ACCESS_KUBE_CONTEXT=${ACCESS_CONTEXT} npm start`,
    `  stop it: npm run cluster:down`,
  ].join("\n");
}

async function up(): Promise<void> {
  const existing = readState();
  if (existing && existing.pids.every(alive)) {
    console.log(usage(existing));
    return;
  }
  if (existing) await down();
  mkdirSync(runDir, { recursive: true });
  const plane = await startControlPlane({ runDir, detached: true, log: (l) => console.error(l) });
  const state: State = {
    pids: plane.pids,
    etcdDataDir: plane.etcdDataDir,
    kubeconfig: plane.kubeconfigPath,
    server: plane.server,
  };
  writeFileSync(stateFile, JSON.stringify(state, null, 2));
  console.log(usage(state));
}

async function down(): Promise<void> {
  const s = readState();
  if (!s) {
    console.log("no control plane is running (nothing in " + runDir + ")");
    return;
  }
  for (const pid of [...s.pids].reverse()) {
    if (!alive(pid)) continue;
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + 10_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid, "SIGKILL");
  }
  rmSync(s.etcdDataDir, { recursive: true, force: true });
  rmSync(stateFile, { force: true });
  console.log(`control plane stopped (pids ${s.pids.join(", ")})`);
}

const cmd = process.argv[2];
if (cmd === "up") await up();
else if (cmd === "down") await down();
else {
  console.error("usage: cli.ts up|down");
  process.exit(2);
}
