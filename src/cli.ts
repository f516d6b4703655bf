// `prenv` command line:
//   prenv kubeconfig owner/repo#123 [--url URL] [--ttl 2h] [-o FILE]   (for developers)
//                    [--token-cache FILE | --token-env VAR]
//   prenv token [--url URL] [--token-cache FILE]                       (a token for curl)
//   prenv janitor [--dry-run]                                          (for operators)
// Developers sign in with GitHub's device flow for prenv's GitHub App; the endpoint accepts no
// other GitHub token. Nothing is kept on disk unless --token-cache asks for it.
// The janitor uses the same settings as `npm start` (APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH,
// KUBECONFIG, KUBE_CONTEXT, PRENV_*), parsed once and built by the same composition root as the
// Lambda functions (src/runtime/root/), and reconciles what it finds inline, one PR at a time.
import { writeFileSync } from "node:fs";
import type { JanitorReport } from "./environment/janitor.js";
import { readPrivateKey } from "./runtime/local-start.js";
import { buildBotRoot, runJanitor, runJob } from "./runtime/root/bot.js";
import { rootLogger } from "./runtime/root/logger.js";
import {
  parseKubeconfigArgs,
  parseTokenArgs,
  type KubeconfigArgs,
  type TokenArgs,
} from "./access/cli-args.js";
import { kubeconfigPath } from "./report/instructions.js";
import { checkGitHub } from "./runtime/github-preflight.js";
import { loadSettings } from "./runtime/settings.js";
import { forgetToken, signIn } from "./runtime/sign-in.js";

const USAGE = [
  "usage: prenv kubeconfig <owner>/<repo>#<number> [--url <prenv URL>] [--ttl <duration>] [-o <file>]",
  "                        [--token-cache <file> | --token-env <variable>]",
  "       prenv token [--url <prenv URL>] [--token-cache <file>]",
  "       prenv janitor [--dry-run]",
].join("\n");

function fail(message: string): never {
  console.error(`prenv: ${message}`);
  process.exit(2);
}

export function formatReport(r: JanitorReport, dryRun: boolean): string {
  const verb = dryRun ? "would " : "";
  const lines = [
    `${r.environments} environment(s) in ${r.repositories} repositor${r.repositories === 1 ? "y" : "ies"}`,
  ];
  for (const x of r.reconciled) lines.push(`  ${verb}reconcile ${x.namespace}: ${x.reason}`);
  for (const x of r.deleted) lines.push(`  ${verb}delete ${x.namespace}: ${x.reason}`);
  for (const x of r.skipped) lines.push(`  skip ${x.namespace}: ${x.reason}`);
  if (r.reconciled.length + r.deleted.length === 0) lines.push("  nothing to do");
  if (r.saved.asleep > 0) {
    lines.push(
      `  asleep: ${r.saved.asleep} environment(s), saving ${r.saved.cpuHours} CPU-hours and ${r.saved.memoryGiBHours} GiB-hours so far`,
    );
  }
  for (const [repo, c] of Object.entries(r.cost)) {
    lines.push(`  cost ${repo}: ${c.environments} environment(s), ~${c.perDay.toFixed(2)} ${r.currency}/day`);
  }
  return lines.join("\n");
}

async function janitor(dryRun: boolean): Promise<void> {
  const settings = loadSettings(process.env);
  const { credentials } = settings;
  if (settings.appId === undefined || !(credentials.privateKey || credentials.privateKeyPath))
    fail("set APP_ID and PRIVATE_KEY (or PRIVATE_KEY_PATH) to the GitHub App's credentials");
  const privateKey = readPrivateKey(credentials, process.cwd());
  const root = await buildBotRoot(
    { ...settings, credentials: { ...credentials, privateKey } },
    rootLogger(settings, "warn"),
  );
  // Fail fast, naming the setting, rather than after minutes of retries per repository.
  await checkGitHub(root.probot, root.settings.github.apiUrl);
  const report = await runJanitor(root, {
    // Inline, one PR at a time: the CLI has no queue.
    enqueue: (job) => runJob(root, job),
    dryRun,
  });
  console.log(formatReport(report, dryRun));
}

const say = (line: string) => console.error(line);

/** A GitHub token of prenv's App: from --token-env (automation), else the cache or the device flow. */
async function githubToken(a: KubeconfigArgs | TokenArgs): Promise<{ token: string; cached: boolean }> {
  if (a.tokenEnv) {
    const token = process.env[a.tokenEnv]?.trim();
    if (!token) fail(`--token-env ${a.tokenEnv}: the variable is not set`);
    return { token, cached: false };
  }
  return signIn({ url: a.url, tokenCache: a.tokenCache, say });
}

async function token(a: TokenArgs): Promise<void> {
  process.stdout.write(`${(await githubToken(a)).token}\n`);
}

async function kubeconfig(a: KubeconfigArgs): Promise<void> {
  const path = kubeconfigPath(a);
  const query = a.ttl ? `?ttl=${encodeURIComponent(a.ttl)}` : "";
  const ask = (bearer: string) =>
    fetch(`${a.url}${path}${query}`, {
      headers: { authorization: `Bearer ${bearer}`, accept: "application/yaml" },
    });
  const signedIn = await githubToken(a);
  let res = await ask(signedIn.token);
  if (res.status === 401 && signedIn.cached && a.tokenCache) {
    // The cached token was revoked or expired early: sign in again, once.
    forgetToken(a.tokenCache);
    res = await ask((await githubToken(a)).token);
  }
  const body = await res.text();
  if (!res.ok) fail(body.replace(/^prenv: /, "").trim() || `HTTP ${res.status} from ${a.url}`);
  if (a.out) {
    writeFileSync(a.out, body, { mode: 0o600 });
    console.error(
      `wrote ${a.out} (valid until ${res.headers.get("x-prenv-expires-at") ?? "?"}); use it with KUBECONFIG=${a.out} kubectl get all`,
    );
  } else {
    process.stdout.write(body);
  }
}

const [cmd, ...args] = process.argv.slice(2);
const run = (p: Promise<void>) =>
  p.catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
if (cmd === "janitor" && args.every((a) => a === "--dry-run")) {
  await run(janitor(args.includes("--dry-run")));
} else if (cmd === "kubeconfig") {
  const parsed = parseKubeconfigArgs(args, process.env);
  if (typeof parsed === "string") fail(`${parsed}\n${USAGE}`);
  await run(kubeconfig(parsed));
} else if (cmd === "token") {
  const parsed = parseTokenArgs(args, process.env);
  if (typeof parsed === "string") fail(`${parsed}\n${USAGE}`);
  await run(token(parsed));
} else {
  fail(USAGE);
}
