// The chaos run (issue 17): prenv against the real control plane and real SQS semantics, with lost,
// repeated, late and failing events, then a check that it converged. See scripts/chaos.ts for the
// command line and README (Development) for what it proves.
//
// World: the test control plane (real kube-apiserver, etcd, controllers) behind a fault proxy;
// ElasticMQ with the FIFO jobs queue and its dead-letter queue as serverless.yml declares them;
// the GitHub stand-in with every repository and pull request, answering a share of requests with
// 502 and secondary rate limits; prenv's webhook handler (in this process, as the webhook
// function) and worker processes running prenv's worker handler, some of them killed mid-job.
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { Webhooks } from "@octokit/webhooks";
import { execFileSync } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadKubeConfig } from "../../src/adapters/kubernetes/kubeconfig.js";
import { AwsJsonClient, SQS } from "../../src/adapters/aws/json-api.js";
import { SqsJobQueue } from "../../src/adapters/aws/sqs-queue.js";
import { KubernetesCluster } from "../../src/adapters/kubernetes/cluster.js";
import { prenvApp } from "../../src/app.js";
import { namespaceName } from "../../src/environment/naming.js";
import { relayBatch } from "../../src/runtime/relay.js";
import { createWebhookHandler } from "../../src/runtime/webhook-handler.js";
import {
  ADMIN_CONTEXT,
  BOT_CONTEXT,
  repoRoot,
  startControlPlane,
  writeKubeconfig,
} from "../cluster/harness/controlplane.js";
import { createNodeNetwork, startNode } from "../cluster/harness/node.js";
import { fifoQueuesAt } from "./queues.js";
import { APP_ID, WEBHOOK_SECRET, appPrivateKey, sign } from "../support/app-key.js";
import { startGitHubStandIn } from "../support/github-standin.js";
import { checkConvergence } from "./check.js";
import { githubFaults, type GitHubFault } from "./github-faults.js";
import { randomFaults, startKubeFaultProxy } from "./kube-faults.js";
import { rng } from "./rng.js";
import { Deliveries, makeScript, perform, type Delivery } from "./script.js";
import { SecretScanner } from "./secrets.js";
import { pipeLines, spawnTs, WorkerPool } from "./workers.js";
import { OWNER, World, type Pr, type RepoKind } from "./world.js";

export interface ChaosOptions {
  seed: number;
  prs: number;
  repos: number;
  workers: number;
  kubeFaults: number;
  githubFaults: number;
  kills: number;
  /** Milliseconds between two events of the script (on average). */
  paceMs: number;
  /** Run the PRs' pods on the test node (CI's run): real rollouts behind readiness probes. */
  node?: boolean;
  keep: boolean;
  log: (line: string) => void;
}

export const DEFAULTS = {
  prs: 200,
  repos: 10,
  workers: 4,
  kubeFaults: 0.1,
  githubFaults: 0.05,
  kills: 0.05,
  paceMs: 120,
};

const PREFIX = "pr";
const VISIBILITY_SECONDS = 45;
const MAX_RECEIVES = 5;
/** Three repositories in ten need the `preview` label, one has no config (never opted in). */
const KINDS: RepoKind[] = [
  "all",
  "labelled",
  "all",
  "all",
  "labelled",
  "all",
  "none",
  "all",
  "labelled",
  "all",
];

export interface ChaosResult {
  ok: boolean;
  problems: string[];
  figures: Record<string, unknown>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      srv.close(() => (typeof a === "object" && a ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const runDir = mkdtempSync(join(tmpdir(), "prenv-chaos-"));
  const cleanup: (() => Promise<void> | void)[] = [];
  const log = o.log;
  try {
    return await run(o, runDir, cleanup);
  } finally {
    for (const c of cleanup.reverse())
      await Promise.resolve(c()).catch((e: unknown) => log(`cleanup: ${String(e)}`));
    if (o.keep) log(`run directory kept: ${runDir}`);
    else rmSync(runDir, { recursive: true, force: true });
  }
}

async function run(
  o: ChaosOptions,
  runDir: string,
  cleanup: (() => Promise<void> | void)[],
): Promise<ChaosResult> {
  const { log } = o;
  const started = Date.now();
  // --- the cluster (with the test node when asked), behind the fault proxy
  const net = o.node ? createNodeNetwork(join(runDir, "node")) : undefined;
  const plane = await startControlPlane({
    runDir: join(runDir, "cp"),
    log: (l) => log(`[cluster] ${l}`),
    ...(net ? { nodeAddress: net.hostIP } : {}),
  });
  cleanup.push(() => plane.stop());
  const node = net ? await startNode({ plane, net, log: (l) => log(`[node] ${l}`) }) : undefined;
  if (node) cleanup.push(() => node.stop());
  const pkiDir = join(plane.runDir, "pki");
  const serving = plane.pki.server("chaos-proxy", "chaos-proxy", ["127.0.0.1"]);
  const bot = { cert: join(pkiDir, "prenv-bot.crt"), key: join(pkiDir, "prenv-bot.key") };
  const nsToPr = new Map<string, string>();
  let kubeRate = o.kubeFaults;
  const kubeRng = rng(o.seed, "kube-faults");
  const kubeRequests = new Map<string, number>();
  const proxy = await startKubeFaultProxy({
    upstream: plane.server,
    ca: plane.pki.caCert,
    client: bot,
    serving,
    decide: randomFaults(() => kubeRate, kubeRng),
    latencyMs: () => kubeRng.int(200, 1500),
    onRequest: (r) => {
      const ns = /\/namespaces\/([a-z0-9-]+)/.exec(r.path)?.[1];
      const pr = ns ? nsToPr.get(ns) : undefined;
      if (pr) kubeRequests.set(pr, (kubeRequests.get(pr) ?? 0) + 1);
    },
  });
  cleanup.push(() => proxy.close());
  const kubeconfig = join(runDir, "worker.kubeconfig");
  writeKubeconfig(kubeconfig, proxy.server, plane.pki.caCert, { [BOT_CONTEXT]: bot }, BOT_CONTEXT);
  const admin = loadKubeConfig(plane.kubeconfigPath, ADMIN_CONTEXT);

  // --- SQS (ElasticMQ)
  const mqPort = await freePort();
  const mqEnv = {
    ...process.env,
    ELASTICMQ_PORT: String(mqPort),
    ELASTICMQ_RUN_DIR: join(runDir, "elasticmq"),
  };
  mkdirSync(mqEnv.ELASTICMQ_RUN_DIR, { recursive: true });
  const mq = (cmd: string) =>
    execFileSync("bash", [join(repoRoot, "scripts/elasticmq.sh"), cmd], {
      env: mqEnv,
      stdio: ["ignore", "ignore", "inherit"],
    });
  mq("start");
  cleanup.push(() => void mq("stop"));
  const sqsEndpoint = `http://127.0.0.1:${mqPort}`;
  const aws = { AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "chaos", AWS_SECRET_ACCESS_KEY: "chaos" };
  const sqs = new SQSClient({
    region: "us-east-1",
    endpoint: sqsEndpoint,
    credentials: { accessKeyId: "chaos", secretAccessKey: "chaos" },
  });
  const queues = await fifoQueuesAt(sqs, "prenv-chaos", {
    visibilitySeconds: VISIBILITY_SECONDS,
    maxReceiveCount: MAX_RECEIVES,
  });

  // --- GitHub
  const githubCounts = new Map<GitHubFault | "none", number>();
  const gh = githubFaults(o.githubFaults, rng(o.seed, "github-faults"), githubCounts);
  const standIn = await startGitHubStandIn({ faults: gh.policy });
  cleanup.push(() => standIn.close());
  const world = new World(standIn, {
    repos: o.repos,
    prs: o.prs,
    seed: o.seed,
    kinds: KINDS,
    ...(node ? { image: node.info.images.web! } : {}),
  });
  for (const p of world.prs)
    nsToPr.set(namespaceName({ owner: OWNER, repo: p.repo.name, pr: p.number }, PREFIX), key(p));

  // --- the webhook function, in this process
  const events = new Webhooks({ secret: WEBHOOK_SECRET });
  // Follow-up jobs (rollout checks) wait in a standard delay queue; the relay function's handler,
  // run in this process, puts each due one into its PR's group of the FIFO queue (docs/adr/0012).
  const later = (await sqs.send(new CreateQueueCommand({ QueueName: "prenv-chaos-later" }))).QueueUrl!;
  const jobsQueue = new SqsJobQueue(
    new AwsJsonClient(SQS, {
      region: "us-east-1",
      endpoint: sqsEndpoint,
      credentials: { accessKeyId: "chaos", secretAccessKey: "chaos" },
    }),
    queues.url,
    later,
  );
  cleanup.push(relayLoop(sqs, later, jobsQueue));
  prenvApp({ queue: jobsQueue, appId: APP_ID })(events);
  const webhook = createWebhookHandler({ events, secret: WEBHOOK_SECRET });
  const send = async (d: Delivery) => {
    const body = JSON.stringify(d.payload);
    const res = await webhook({
      headers: {
        "x-github-event": d.event,
        "x-github-delivery": d.id,
        "x-hub-signature-256": sign(body),
        "content-type": "application/json",
      },
      body,
    });
    if (res.statusCode >= 300) throw new Error(`webhook answered ${res.statusCode}: ${res.body}`);
  };

  // --- workers
  const privateKey = appPrivateKey();
  const scanner = new SecretScanner({
    "the App's private key": privateKey,
    "the bot's client key": readFileSync(bot.key, "utf8"),
    "the webhook secret": WEBHOOK_SECRET,
  });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...aws,
    APP_ID: String(APP_ID),
    PRIVATE_KEY: privateKey,
    PRENV_GITHUB_API_URL: standIn.url,
    KUBECONFIG: kubeconfig,
    KUBE_CONTEXT: BOT_CONTEXT,
    PRENV_QUEUE_URL: queues.url,
    PRENV_DELAY_QUEUE_URL: later,
    PRENV_SQS_ENDPOINT: sqsEndpoint,
    PRENV_MAX_RECEIVE_COUNT: String(MAX_RECEIVES),
    PRENV_BASE_DOMAIN: "preview.test",
    // No Gateway API CRDs or data plane on this control plane (as test/support/settings.ts): with the
    // production default (gateway) every deploy is refused by the API server and dead-lettered.
    PRENV_ROUTING: "ingress",
    PRENV_READY_CHECK: "rollout",
    // Real pods (on the node) take seconds to start on two busy cores; none start otherwise.
    PRENV_ROLLOUT_TIMEOUT_SECONDS: node ? "180" : "20",
    PRENV_NAMESPACE_PREFIX: PREFIX,
    LOG_LEVEL: "info",
    CHAOS_JOB_TIMEOUT_MS: String((VISIBILITY_SECONDS - 5) * 1000),
  };
  const logFile = join(runDir, "logs.jsonl");
  const pool = new WorkerPool({
    count: o.workers,
    env,
    killRate: o.kills,
    rng: rng(o.seed, "kills"),
    logFile,
    onLine: (line) => scanner.scan(line, "worker"),
  });
  cleanup.push(() => pool.stop());

  // --- the script
  const script = makeScript(world, rng(o.seed, "script"));
  log(`script: ${script.length} events on ${o.prs} pull requests in ${o.repos} repositories`);
  const deliveries = new Deliveries(
    send,
    { duplicate: 0.1, dropClose: 0.1, reorder: 0.1 },
    rng(o.seed, "deliveries"),
  );
  const pace = rng(o.seed, "pace");
  const stepRng = rng(o.seed, "steps");
  let n = 0;
  const scriptStart = Date.now();
  for (const step of script) {
    await deliveries.offer(perform(world, step, stepRng, `chaos-${o.seed}-${++n}`));
    await sleep(pace.int(0, 2 * o.paceMs));
    if (n % 200 === 0) log(`  ${n}/${script.length} events, ${pool.figures.started} jobs so far`);
  }
  await deliveries.flush();
  const scriptEnd = Date.now();
  log(`script done in ${secs(scriptEnd - scriptStart)}; waiting for the queue to drain`);
  await drain(sqs, [queues.url, later], pool, log);
  const drained = Date.now();
  log(`drained ${secs(drained - scriptEnd)} after the script; running the janitor once`);
  const janitor = await runJanitor(env, logFile, scanner);
  log(`janitor: ${JSON.stringify(janitor)}`);
  await drain(sqs, [queues.url, later], pool, log);
  const converged = Date.now();
  log(`drained again ${secs(converged - drained)} after the janitor`);
  kubeRate = 0;
  gh.setRate(0);
  await pool.stop();
  await waitForDeletions(admin, log);

  // --- the verdict
  const result = await checkConvergence(world, admin, PREFIX);
  const dead = await deadLetters(sqs, queues.dlqUrl);
  const problems = [...result.problems];
  if (scanner.findings.length > 0)
    problems.push(...scanner.findings.map((f) => `secret in a log line: ${f}`));
  const unexpected = standIn.problems().filter((p) => !p.includes("was called 0 times"));
  problems.push(...unexpected.map((p) => `GitHub stand-in: ${p}`));
  const costs = requestCosts(world, standIn.calls, kubeRequests);
  const figures = {
    seed: o.seed,
    pullRequests: o.prs,
    repositories: o.repos,
    events: script.length,
    deliveries: deliveries.figures,
    jobs: pool.figures.started,
    retries: pool.figures.retries,
    failedJobs: pool.figures.failed,
    killedJobs: pool.figures.killed,
    timedOutJobs: pool.figures.timedOut,
    deadLettered: dead.length,
    deadLetteredJobs: dead.slice(0, 10),
    kubernetesRequests: Object.fromEntries(proxy.counts),
    githubRequests: Object.fromEntries(githubCounts),
    environments: result.environments,
    openOptedIn: result.openOptedIn,
    janitor,
    logLinesScanned: scanner.lines,
    mostRequestsOnePr: costs.max,
    meanRequestsPerPr: costs.mean,
    scriptSeconds: Math.round((scriptEnd - scriptStart) / 1000),
    convergeSecondsAfterScript: Math.round((converged - scriptEnd) / 1000),
    totalSeconds: Math.round((Date.now() - started) / 1000),
  };
  return { ok: problems.length === 0, problems, figures };
}

function key(p: Pr): string {
  return `${OWNER}/${p.repo.name}#${p.number}`;
}

function secs(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

/** The relay function's event source: due follow-ups into the jobs queue until stopped. */
function relayLoop(sqs: SQSClient, url: string, queue: SqsJobQueue): () => Promise<void> {
  let stopped = false;
  const silent = { error: () => undefined };
  const loop = (async () => {
    while (!stopped) {
      const got = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      const records = (got.Messages ?? []).map((m) => ({
        messageId: m.MessageId!,
        body: m.Body ?? "",
        receipt: m.ReceiptHandle!,
      }));
      const { batchItemFailures } = await relayBatch(records, { queue, log: silent });
      const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
      for (const r of records.filter((x) => !failed.has(x.messageId)))
        await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: r.receipt }));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

/** Until no message is visible, in flight or delayed in `urls`, and no worker is in a job, three times in a row. */
async function drain(
  sqs: SQSClient,
  urls: string[],
  pool: WorkerPool,
  log: (l: string) => void,
): Promise<void> {
  let quiet = 0;
  let last = 0;
  for (;;) {
    let left = 0;
    for (const url of urls) {
      const { Attributes: a = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
          ],
        }),
      );
      left +=
        Number(a.ApproximateNumberOfMessages ?? 0) +
        Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
        Number(a.ApproximateNumberOfMessagesDelayed ?? 0);
    }
    quiet = left === 0 && pool.idle ? quiet + 1 : 0;
    if (quiet >= 3) return;
    if (Date.now() - last > 15_000) {
      log(`  ${left} message(s) left, ${pool.figures.started} jobs so far`);
      last = Date.now();
    }
    await sleep(1000);
  }
}

async function runJanitor(env: NodeJS.ProcessEnv, logFile: string, scanner: SecretScanner): Promise<unknown> {
  const child = spawnTs("janitor-main.ts", env);
  const out = createWriteStream(logFile, { flags: "a" });
  pipeLines(child, out, (line) => scanner.scan(line, "janitor"));
  const summary = await new Promise<unknown>((resolve, reject) => {
    let got: unknown = null;
    child.on("message", (m: { type: string; summary: unknown }) => {
      if (m.type === "janitor") got = m.summary;
    });
    child.on("exit", (code) =>
      got ? resolve(got) : reject(new Error(`the janitor exited with ${code} before reporting`)),
    );
  });
  await new Promise<void>((resolve) => out.end(resolve));
  return summary;
}

/** Namespaces being deleted finish (their controller works through them) before the check. */
async function waitForDeletions(
  admin: ReturnType<typeof loadKubeConfig>,
  log: (l: string) => void,
): Promise<void> {
  const cluster = new KubernetesCluster(admin);
  const deadline = Date.now() + 180_000;
  for (;;) {
    const terminating = (await cluster.listEnvironments()).filter((e) => e.phase === "Terminating").length;
    if (terminating === 0 || Date.now() > deadline) return;
    log(`  ${terminating} namespace(s) still terminating`);
    await sleep(2000);
  }
}

async function deadLetters(sqs: SQSClient, url: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const got = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 600,
      }),
    );
    if (!got.Messages?.length) return out;
    for (const m of got.Messages) {
      const j = JSON.parse(m.Body ?? "{}") as {
        owner?: string;
        repo?: string;
        number?: number;
        reason?: string;
      };
      out.push(`${j.owner}/${j.repo}#${j.number} (${j.reason})`);
    }
  }
}

/** The most GitHub + Kubernetes requests one pull request cost, and the mean. */
function requestCosts(
  world: World,
  calls: readonly { method: string; path: string; query: Readonly<Record<string, string>>; body: unknown }[],
  kube: Map<string, number>,
): { max: { pr: string; github: number; kubernetes: number; total: number } | null; mean: number } {
  const github = new Map<string, number>();
  for (const c of calls) {
    const p = world.attribute({ ...c, query: { ...c.query } });
    if (p) github.set(key(p), (github.get(key(p)) ?? 0) + 1);
  }
  let max: { pr: string; github: number; kubernetes: number; total: number } | null = null;
  let sum = 0;
  for (const p of world.prs) {
    const g = github.get(key(p)) ?? 0;
    const k = kube.get(key(p)) ?? 0;
    sum += g + k;
    if (!max || g + k > max.total) max = { pr: key(p), github: g, kubernetes: k, total: g + k };
  }
  return { max, mean: Math.round(sum / Math.max(1, world.prs.length)) };
}
