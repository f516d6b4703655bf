// `npm start`: prenv as one local process: Probot's server, an in-process queue that serialises
// work per PR, and the current kubeconfig context. The settings are parsed once (with .env), and
// every dependency is built from them by the same builders the Lambda functions use
// (src/runtime/root/). It fails closed (src/runtime/local-start.ts): without the GitHub App's
// credentials and webhook secret it does not start, unless PRENV_DEVELOPMENT=1 opts into Probot's
// setup page or an empty webhook secret.
import type { KubeConfig } from "@kubernetes/client-node";
import { Probot, Server, run } from "probot";
import { prenvApp } from "./app.js";
import { accessDeps, loginInfo } from "./runtime/access.js";
import { localFailurePolicy, tellPullRequest, unsettleEnvironment } from "./runtime/failures.js";
import { createKubeconfigHandler, nodeKubeconfigHandler } from "./runtime/kubeconfig-handler.js";
import { LocalQueue } from "./runtime/local-queue.js";
import { checkLocalStart, StartError, withDotEnv, type LocalStart } from "./runtime/local-start.js";
import { ACCESS_PERMISSIONS, preflight } from "./runtime/preflight.js";
import { probotOptions } from "./runtime/root/github.js";
import { localKubeConfig } from "./runtime/root/kube.js";
import { domainLogger, rootLogger } from "./runtime/root/logger.js";
import type { AppClientCredentials } from "./runtime/root/secrets.js";
import { loadSettings, type Settings } from "./runtime/settings.js";
import { loadTemplates } from "./runtime/templates.js";
import { processJob } from "./runtime/worker.js";
import { checkGitHub } from "./runtime/github-preflight.js";
import { runSweep } from "./runtime/janitor.js";
import { scheduleJanitor } from "./runtime/local-janitor.js";
import { hostCluster } from "./runtime/root/cluster.js";

function fail(message: string): never {
  console.error(`prenv: ${message}`);
  process.exit(1);
}

let settings: Settings;
let start: LocalStart;
try {
  settings = loadSettings(withDotEnv(process.env, process.cwd()));
  start = checkLocalStart(settings, process.cwd());
} catch (err) {
  fail(err instanceof StartError || err instanceof Error ? err.message : `cannot start: ${String(err)}`);
}
const log = rootLogger(settings);
for (const warning of start.warnings) log.warn(warning);

if (start.kind === "setup") {
  // No App yet: Probot's setup page registers one and writes its credentials to .env.
  await run(() => undefined);
} else {
  await serve(settings, start);
}

async function serve(settings: Settings, app: Extract<LocalStart, { kind: "app" }>): Promise<void> {
  // The kubeconfig endpoint: the App's OAuth client (to check callers' tokens) and its own identity.
  const { clientId, clientSecret } = settings.credentials;
  const client: AppClientCredentials | null = clientId && clientSecret ? { clientId, clientSecret } : null;
  let kubeConfig: KubeConfig;
  let accessKubeConfig: KubeConfig;
  try {
    kubeConfig = localKubeConfig(settings);
    accessKubeConfig =
      settings.accessKubeContext === settings.kubeContext
        ? kubeConfig
        : localKubeConfig(settings, settings.accessKubeContext);
  } catch (err) {
    fail(`cannot load kubeconfig: ${(err as Error).message}`);
  }
  await preflight(kubeConfig).catch((err: unknown) => fail((err as Error).message));
  if (!client) {
    log.warn(
      "GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are not set: the kubeconfig endpoint refuses every request",
    );
  }
  await preflight(accessKubeConfig, ACCESS_PERMISSIONS, "prenv-kubeconfig").catch((err: unknown) =>
    log.warn(`the kubeconfig endpoint cannot issue kubeconfigs: ${(err as Error).message}`),
  );

  const templates = loadTemplates();
  const options = probotOptions(settings, app, log);
  const probot = new Probot(options);
  const queue = new LocalQueue({
    run: async (job, attempt) => {
      await processJob(job, { settings, kubeConfig, templates, log, probot, later: queue, attempt });
    },
    onError: localFailurePolicy(
      log,
      tellPullRequest({ probot, settings, templates }),
      unsettleEnvironment({ kubeConfig: () => Promise.resolve(kubeConfig), settings, log }),
    ),
  });
  // GET /api/kubeconfig/<owner>/<repo>/<number>: self-service kubeconfigs (see README, "kubectl access").
  const kubeconfigs = createKubeconfigHandler(
    () =>
      client
        ? Promise.resolve(accessDeps({ client, kubeConfig: accessKubeConfig, settings, log }))
        : Promise.reject(new Error("prenv is not configured")),
    () => (client ? Promise.resolve(loginInfo(client, settings)) : Promise.reject(new Error("no client id"))),
  );
  const server = new Server({
    ...settings.server,
    log,
    Probot: Probot.defaults(options),
  });
  await server.load((events, { addHandler }) => {
    prenvApp({ queue, appId: app.appId })(events);
    addHandler(nodeKubeconfigHandler(kubeconfigs));
  });
  await server.start();
  // The janitor, as the schedule runs it on AWS: through the local queue, in each PR's group.
  const cluster = hostCluster(kubeConfig, settings);
  const janitor = scheduleJanitor({
    everyMs: settings.janitorIntervalMs,
    log: domainLogger(log),
    pass: async () => {
      await checkGitHub(probot, settings.github.apiUrl);
      return runSweep({
        probot,
        cluster,
        enqueue: (job) => queue.enqueue(job),
        prices: settings.environment.prices,
        log: domainLogger(log),
      });
    },
  });
  process.on("SIGINT", () => {
    Promise.all([janitor.stop(), server.stop()]).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
