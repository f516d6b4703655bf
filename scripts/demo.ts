// `npm run demo`: prenv doing its job on this machine's embedded world, for a newcomer after
// `npm ci`. It starts the test world (the Kubernetes control plane, a node running real pods, a
// Gateway API data plane, and the GitHub stand-in at the HTTP boundary), runs prenv's real app and
// worker, and walks one pull request through open, push, `/env sleep`, `/env wake` and close,
// fetching the preview URL through the Gateway after each step and printing how long each took.
// Everything it starts it stops, and it leaves nothing behind. Needs Linux, root and cgroup v1
// (the node); the first run builds the world from the Go module proxy (several minutes).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadKubeConfig } from "../src/adapters/kubernetes/kubeconfig.js";
import { COMMENT_MARKER } from "../src/report/comment.js";
import {
  ADMIN_CONTEXT,
  BOT_CONTEXT,
  startControlPlane,
  type ControlPlane,
} from "../test/cluster/harness/controlplane.js";
import {
  ensureGatewayBuild,
  gatewaySettings,
  installGatewayCrds,
  startDataPlane,
  viaGateway,
  type DataPlaneInfo,
} from "../test/cluster/harness/gateway.js";
import {
  createNodeNetwork,
  networkState,
  nodeUnsupported,
  stopNode,
  startNode,
  type TestNode,
} from "../test/cluster/harness/node.js";
import {
  SHA1,
  SHA2,
  cleanupRigs,
  command,
  commandRoutes,
  push,
  setup,
  type Setup,
} from "../test/cluster/harness/pr-rig.js";
import { app } from "../test/cluster/harness/workloads.js";
import { pullRequestPayload } from "../test/support/payloads.js";

const CONFIG = `
deploy:
  path: deploy/preview
url:
  service: web
  port: 8080
resources: { cpu: "1", memory: 1Gi, pods: 5 }
`;

const started = Date.now();
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const say = (line: string) => console.log(line);

async function step(title: string, run: () => Promise<string[]>): Promise<number> {
  say(`\n▶ ${title}`);
  const t0 = Date.now();
  const lines = await run();
  const took = Date.now() - t0;
  for (const l of lines) say(`  ${l}`);
  say(`  (${seconds(took)})`);
  return took;
}

function fetchLine(dp: DataPlaneInfo, host: string): string {
  const a = viaGateway(dp, host);
  const body = a.body.trim().replace(/\s+/g, " ").slice(0, 160);
  return `GET https://${host}/ through the Gateway → ${a.status || a.error} ${body}`;
}

const comment = (s: Setup) =>
  (s.comments.comments.find((c) => c.body.startsWith(COMMENT_MARKER))?.body ?? "(no comment)")
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("<!--"));

const stateRow = (s: Setup) => comment(s).find((l) => l.startsWith("| State")) ?? "";

async function main(): Promise<void> {
  const unsupported = nodeUnsupported();
  if (unsupported) {
    console.error(`npm run demo needs the test node: ${unsupported}`);
    process.exitCode = 2;
    return;
  }
  const runDir = mkdtempSync(join(tmpdir(), "prenv-demo-"));
  const quiet = () => {};
  let plane: ControlPlane | undefined;
  let node: TestNode | undefined;
  const net = createNodeNetwork(runDir);
  try {
    let dp: DataPlaneInfo | undefined;
    await step(
      "Start the world: Kubernetes control plane, a node, the Gateway (Traefik), the GitHub stand-in",
      async () => {
        const gatewayBuild = ensureGatewayBuild(quiet);
        plane = await startControlPlane({ runDir, log: quiet, nodeAddress: net.hostIP });
        node = await startNode({ plane, net, log: quiet });
        const admin = loadKubeConfig(plane.kubeconfigPath, ADMIN_CONTEXT);
        await installGatewayCrds(admin, gatewayBuild);
        dp = await startDataPlane({ admin, node: node.info, buildDir: gatewayBuild, runDir, log: quiet });
        return [
          `API server ${plane.server}, node ${node.info.name} (${node.info.nodeIP})`,
          `Gateway ${dp.gateway.namespace}/${dp.gateway.name} (Traefik ${dp.versions.traefik}) at ${dp.address}`,
        ];
      },
    );
    if (!plane || !node || !dp) throw new Error("the world did not start");
    const gateway = dp;
    const admin = loadKubeConfig(plane.kubeconfigPath, ADMIN_CONTEXT);
    const bot = loadKubeConfig(plane.kubeconfigPath, BOT_CONTEXT);
    const files = (greeting: string) => ({
      "deploy/preview/web.yaml": app({ image: node!.info.images.web!, env: { APP_GREETING: greeting } }),
    });
    const s = await setup(bot, admin, {
      config: CONFIG,
      files: files("hello from the first commit"),
      rolloutSeconds: 60,
      settings: gatewaySettings(gateway),
    });
    commandRoutes(s);
    const host = `${s.ns}.preview.test`;

    const deliver = async (event: string, payload: Record<string, unknown>) => {
      await s.rig.deliver(event, payload);
      await s.rig.settle();
    };

    const opened = await step(
      `Open pull request ${s.owner}/${s.repo}#${s.number} (${SHA1.slice(0, 7)})`,
      async () => {
        await deliver("pull_request", s.opened);
        return ["PR comment:", ...comment(s).map((l) => `  │ ${l}`), fetchLine(gateway, host)];
      },
    );
    await step(`Push ${SHA2.slice(0, 7)}`, async () => {
      await deliver("pull_request", push(s, SHA2, files("hello from the second commit")));
      return [stateRow(s), fetchLine(gateway, host)];
    });
    await step("/env sleep", async () => {
      await command(s, "Codertocat", "/env sleep");
      return [stateRow(s), fetchLine(gateway, host)];
    });
    await step("/env wake", async () => {
      await command(s, "Codertocat", "/env wake");
      return [stateRow(s), fetchLine(gateway, host)];
    });
    await step("Close the pull request", async () => {
      (s.pr.pr as { state: string }).state = "closed";
      await deliver(
        "pull_request",
        pullRequestPayload("closed", {
          owner: s.owner,
          repo: s.repo,
          number: s.number,
          sha: SHA2,
          state: "closed",
        }),
      );
      const deadline = Date.now() + 60_000;
      while (viaGateway(gateway, host).status !== 404 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
      }
      return [stateRow(s), fetchLine(gateway, host)];
    });
    say(
      `\nwebhook → preview URL answering (open, small test app on the node): ${seconds(opened)} (target < 15 s)`,
    );
  } finally {
    say("\n▶ Clean up");
    await cleanupRigs();
    if (node) await node.stop();
    else await stopNode(networkState(net));
    await plane?.stop();
    rmSync(runDir, { recursive: true, force: true });
    say(`  done; the demo took ${seconds(Date.now() - started)}`);
  }
}

await main();
