// Smoke test of `npm run offline` (scripts/offline.sh), by hand or from CI, not a vitest file:
//
//   npm run cluster:up && npx tsx test/offline/smoke.ts && npm run cluster:down
//
// Starts the GitHub stand-in with one pull request's models (as test/cluster/lambda-e2e.test.ts),
// runs scripts/offline.sh as a child process (its own ElasticMQ and HTTP ports, all free ones, and
// PRENV_GITHUB_API_URL pointing at the stand-in), POSTs a signed `pull_request.opened` delivery
// to the webhook route, and waits until the cluster has the PR's namespace and ConfigMap, the
// stand-in has the "ready" comment, the kubeconfig route issues a kubeconfig that reads that
// ConfigMap to a user's token of prenv's App (and refuses any other token), and the job has left
// the queue (the worker succeeded and the offline SQS event
// source deleted it). Prints OK with timings; stops everything it started.
//
// Cluster: KUBECONFIG, else the one `npm run cluster:up` wrote. prenv runs as KUBE_CONTEXT
// (default: `prenv-bot` when the kubeconfig has it), its kubeconfig function as
// PRENV_ACCESS_KUBE_CONTEXT (default: `prenv-kubeconfig` when it has it); the checks use the kubeconfig's current
// context, which must be able to read ConfigMaps and delete namespaces. The App key is this
// process's test key (test/support/app-key.ts), the one the stand-in verifies App JWTs with.
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createWriteStream, existsSync, readFileSync, rmSync } from "node:fs";
import { createServer, connect } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { namespaceName } from "../../src/environment/naming.js";
import { APP_ID, WEBHOOK_SECRET, appPrivateKey, sign } from "../support/app-key.js";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github-standin.js";
import { helloPullRequest } from "../support/scenarios.js";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");
const SHA = "3333333333333333333333333333333333333333";
const START_TIMEOUT_MS = 240_000; // first start may bundle and fetch ElasticMQ with Maven
const JOB_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 45_000;

// The SDK warns about Node < 22 (the functions run on 22 in Lambda); noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
const t0 = Date.now();
const timings: string[] = [];
const mark = (what: string) => timings.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)} s`);

function fail(message: string): never {
  throw new Error(message);
}

function kubeconfigPath(): string {
  if (process.env.KUBECONFIG) return process.env.KUBECONFIG;
  const cache =
    process.env.PRENV_CLUSTER_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "prenv-cluster");
  const state = join(process.env.PRENV_CLUSTER_RUN ?? join(cache, "run"), "state.json");
  if (!existsSync(state)) fail("no cluster: set KUBECONFIG or run `npm run cluster:up` first");
  return (JSON.parse(readFileSync(state, "utf8")) as { kubeconfig: string }).kubeconfig;
}

async function freePort(): Promise<number> {
  return new Promise((done, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => done(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  /** Throws when waiting on is pointless (the offline process died, the job failed). */
  guard: (what: string) => void = () => undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    guard(what);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) fail(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(500);
  }
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((done) => {
    const timer = setTimeout(() => done(false), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      done(true);
    });
  });
}

/** SIGTERM to scripts/offline.sh (it stops osls and its ElasticMQ); SIGKILL to its group after a grace. */
async function stopOffline(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  if (await exited(child, STOP_TIMEOUT_MS)) return;
  console.error(
    `offline smoke: scripts/offline.sh (pid ${child.pid}) did not stop; killing its process group`,
  );
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
  await exited(child, 5_000);
}

async function main(): Promise<void> {
  const kubeconfig = kubeconfigPath();
  const admin = new KubeConfig();
  admin.loadFromFile(kubeconfig);
  const kubeContext =
    process.env.KUBE_CONTEXT ??
    (admin.contexts.some((c) => c.name === "prenv-bot") ? "prenv-bot" : admin.getCurrentContext());
  const accessContext =
    process.env.PRENV_ACCESS_KUBE_CONTEXT ??
    (admin.contexts.some((c) => c.name === "prenv-kubeconfig") ? "prenv-kubeconfig" : kubeContext);
  const core = admin.makeApiClient(CoreV1Api);

  const owner = "acme";
  const repo = `offline-${process.pid}`;
  const number = 5;
  const ns = namespaceName({ owner, repo, pr: number });
  const [httpPort, lambdaPort, sqsPort] = [await freePort(), await freePort(), await freePort()];
  const logPath = join(tmpdir(), `prenv-offline-smoke-${process.pid}.log`);
  const elasticmqRunDir = join(tmpdir(), `prenv-offline-smoke-elasticmq-${process.pid}`);

  let standIn: GitHubStandIn | undefined;
  let child: ChildProcess | undefined;
  let ok = false;
  let interrupted = false;
  try {
    standIn = await startGitHubStandIn();
    const { opened, comments } = helloPullRequest(standIn, { owner, repo, number, sha: SHA });
    // prenv's App as an OAuth client, and a developer (Codertocat, write access) signed in to it.
    const oauth = standIn.oauthApp();
    standIn.repository(owner, repo, { id: (opened.repository as { id: number }).id });
    const userToken = oauth.issueToken("Codertocat");

    const log = createWriteStream(logPath);
    child = spawn("bash", [join(ROOT, "scripts/offline.sh")], {
      cwd: ROOT,
      detached: true, // its own process group, so a last-resort SIGKILL reaches all of it
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        APP_ID: String(APP_ID),
        PRIVATE_KEY: appPrivateKey(),
        PRIVATE_KEY_PATH: "",
        WEBHOOK_SECRET,
        KUBECONFIG: kubeconfig,
        KUBE_CONTEXT: kubeContext,
        PRENV_ACCESS_KUBE_CONTEXT: accessContext,
        GITHUB_CLIENT_ID: oauth.clientId,
        GITHUB_CLIENT_SECRET: oauth.clientSecret,
        PRENV_GITHUB_API_URL: standIn.url,
        PRENV_GITHUB_WEB_URL: standIn.webUrl,
        PRENV_BASE_DOMAIN: "preview.test",
        PRENV_OFFLINE_PORT: String(httpPort),
        PRENV_OFFLINE_LAMBDA_PORT: String(lambdaPort),
        PRENV_OFFLINE_SCHEDULES: "off",
        ELASTICMQ_PORT: String(sqsPort),
        ELASTICMQ_RUN_DIR: elasticmqRunDir,
      },
    });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    // The offline SQS event source logs it when the worker fails a job: no need to wait it out.
    let jobFailed = false;
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("left for retry")) jobFailed = true;
      });
    }
    const offline = child;
    const guard = (what: string) => {
      if (offline.exitCode !== null) fail(`scripts/offline.sh exited (${offline.exitCode}) before ${what}`);
      if (jobFailed) fail(`the worker failed the job before ${what}`);
      if (interrupted) fail(`interrupted while waiting for ${what}`);
    };
    console.log(`offline smoke: scripts/offline.sh pid ${child.pid}, log ${logPath}`);
    // It runs in its own process group: pass an interrupt of this script on, then fail.
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.once(signal, () => {
        interrupted = true;
        offline.kill("SIGTERM");
      });
    }

    await waitFor(
      `the webhook route on port ${httpPort}`,
      START_TIMEOUT_MS,
      async () => ((await portAnswers(httpPort)) ? true : undefined),
      guard,
    );
    mark("http ready");

    const body = JSON.stringify(opened);
    const sent = Date.now();
    const res = await fetch(`http://127.0.0.1:${httpPort}/api/github/webhooks`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "pull_request",
        "x-github-delivery": randomUUID(),
        "x-hub-signature-256": sign(body),
      },
      body,
    });
    const answer = await res.text();
    if (res.status !== 202) fail(`webhook answered ${res.status}: ${answer}`);
    mark(`webhook 202 (${Date.now() - sent} ms)`);

    await waitFor(
      `namespace ${ns}`,
      JOB_TIMEOUT_MS,
      async () => (await core.readNamespace({ name: ns })).metadata,
      guard,
    );
    mark("namespace");
    const cm = await waitFor(
      "ConfigMap hello",
      JOB_TIMEOUT_MS,
      async () => (await core.readNamespacedConfigMap({ name: "hello", namespace: ns })).data,
      guard,
    );
    if (cm.pr !== String(number)) fail(`ConfigMap hello has data ${JSON.stringify(cm)}`);
    mark("configmap");
    await waitFor(
      "the ready comment",
      JOB_TIMEOUT_MS,
      () => Promise.resolve(comments.comments.some((c) => c.body.includes("ready")) ? true : undefined),
      guard,
    );
    mark("comment");

    // The kubeconfig route (the kubeconfig function behind the HTTP API), as the comment says to call it.
    const path = `/api/kubeconfig/${owner}/${repo}/${number}`;
    const ready = comments.comments.find((c) => c.body.includes("ready"))!.body;
    if (!ready.includes(`http://127.0.0.1:${httpPort}${path}`))
      fail("the comment does not show the kubeconfig URL");
    const access = await fetch(`http://127.0.0.1:${httpPort}${path}`, {
      headers: { authorization: `Bearer ${userToken}` },
    });
    const issued = await access.text();
    if (access.status !== 200) fail(`kubeconfig route answered ${access.status}: ${issued}`);
    const developer = new KubeConfig();
    developer.loadFromString(issued);
    const seen = await developer.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: ns });
    if (!seen.items.some((c) => c.metadata?.name === "hello"))
      fail("the issued kubeconfig does not see ConfigMap hello");
    const refused = await fetch(`http://127.0.0.1:${httpPort}${path}`, {
      headers: { authorization: "Bearer gho_not_a_token_of_prenvs_app" },
    });
    if (refused.status !== 401) fail(`another token got ${refused.status} from the kubeconfig route`);
    const signIn = await fetch(`http://127.0.0.1:${httpPort}/api/kubeconfig/login`);
    if ((await signIn.text()) !== JSON.stringify({ client_id: oauth.clientId, github_url: standIn.webUrl }))
      fail("the sign-in route does not name prenv's App and GitHub's web host");
    mark("kubeconfig");

    const sqs = new SQSClient({
      region: "us-east-1",
      endpoint: `http://127.0.0.1:${sqsPort}`,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    const queueUrl = `http://127.0.0.1:${sqsPort}/000000000000/prenv-jobs-local.fifo`;
    await waitFor(
      "the job to leave the queue",
      JOB_TIMEOUT_MS,
      async () => {
        const { Attributes: a } = await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["All"] }),
        );
        const left =
          Number(a?.ApproximateNumberOfMessages) + Number(a?.ApproximateNumberOfMessagesNotVisible);
        return left === 0 ? true : undefined;
      },
      guard,
    );
    mark("queue empty");
    sqs.destroy();

    if (comments.comments.length !== 1) fail(`expected one PR comment, got ${comments.comments.length}`);
    standIn.verify();

    const stopping = Date.now();
    await stopOffline(child);
    mark(`stopped (${Date.now() - stopping} ms)`);
    // 143: its SIGTERM trap; 0: osls ended first.
    if (child.exitCode !== 143 && child.exitCode !== 0) {
      fail(`scripts/offline.sh ended with ${child.exitCode ?? child.signalCode} on SIGTERM`);
    }
    if (await portAnswers(sqsPort))
      fail(`ElasticMQ (port ${sqsPort}) still answers after scripts/offline.sh ended`);
    ok = true;
  } finally {
    if (child) await stopOffline(child);
    await standIn?.close();
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
    if (!ok && existsSync(logPath)) {
      const lines = readFileSync(logPath, "utf8").trimEnd().split("\n");
      console.error(`--- last lines of ${logPath}\n${lines.slice(-60).join("\n")}\n---`);
    } else if (ok) {
      rmSync(logPath, { force: true });
      rmSync(elasticmqRunDir, { recursive: true, force: true });
    }
  }
  console.log(`offline smoke: OK (${owner}/${repo}#${number} → ${ns}; ${timings.join(", ")})`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`offline smoke: FAILED: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
