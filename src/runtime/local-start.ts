// What `npm start` checks before anything listens or calls out: it fails closed. Without an
// explicit development mode (PRENV_DEVELOPMENT=1) there is no start without a webhook secret (so
// no webhook signed with Probot's fallback secret "development" is ever accepted), and no start
// without the GitHub App's id and a usable private key (so prenv never falls into Probot's setup
// page, which registers an App and reaches a webhook relay over the internet). With an App
// configured, a missing or unreadable key is fatal even in development mode.
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseEnv } from "node:util";
import type { Settings } from "./settings.js";

/** The opt-in that allows an empty WEBHOOK_SECRET and Probot's setup page. */
export const DEVELOPMENT_MODE = "PRENV_DEVELOPMENT";

export type LocalStart =
  /** Run prenv as this App (the private key read and checked). */
  | { kind: "app"; appId: number; privateKey: string; webhookSecret: string | undefined; warnings: string[] }
  /** Development mode without an App: Probot's setup page registers one. */
  | { kind: "setup"; warnings: string[] };

/** A start-up refusal: one line saying what to set. */
export class StartError extends Error {
  override readonly name = "StartError";
}

const CREDENTIALS =
  "APP_ID, PRIVATE_KEY_PATH (or PRIVATE_KEY) and WEBHOOK_SECRET (the GitHub App's credentials, in the environment or .env)";

/** `.env` in `cwd`, applied over `env` the way Probot applies it (its values win). */
export function withDotEnv(env: NodeJS.ProcessEnv, cwd: string): NodeJS.ProcessEnv {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, ".env"), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return env;
    throw new StartError(`cannot read ${resolve(cwd, ".env")} (${(err as NodeJS.ErrnoException).code})`);
  }
  return { ...env, ...parseEnv(text) };
}

type StartSettings = Pick<Settings, "appId" | "credentials" | "development">;

export function checkLocalStart(settings: StartSettings, cwd: string): LocalStart {
  const { appId, credentials, development } = settings;
  const warnings: string[] = [];
  const hasKey = Boolean(credentials.privateKey?.trim() || credentials.privateKeyPath?.trim());
  if (appId === undefined && !hasKey) {
    if (!development) {
      throw new StartError(
        `no GitHub App configured: set ${CREDENTIALS}, or run once with ${DEVELOPMENT_MODE}=1 to create an App on Probot's setup page`,
      );
    }
    warnings.push(
      `${DEVELOPMENT_MODE}=1 and no GitHub App configured (APP_ID, PRIVATE_KEY): starting Probot's setup page`,
    );
    return { kind: "setup", warnings };
  }
  if (appId === undefined) throw new StartError(`set APP_ID along with the private key (${CREDENTIALS})`);
  const privateKey = readPrivateKey(credentials, cwd);
  if (!credentials.webhookSecret) {
    if (!development) {
      throw new StartError(
        `WEBHOOK_SECRET is empty: set it to the GitHub App's webhook secret (or ${DEVELOPMENT_MODE}=1 to accept webhooks signed with "development" on a development machine)`,
      );
    }
    warnings.push(
      `${DEVELOPMENT_MODE}=1 and WEBHOOK_SECRET is empty: accepting webhooks signed with "development"; never expose this server`,
    );
  }
  return { kind: "app", appId, privateKey, webhookSecret: credentials.webhookSecret, warnings };
}

/**
 * The App's private key from PRIVATE_KEY (PEM, `\n`-escaped PEM or base64 PEM) or PRIVATE_KEY_PATH
 * (relative to `cwd`), checked to be an RSA key. Also used by the CLI.
 */
export function readPrivateKey(credentials: Settings["credentials"], cwd: string): string {
  let pem: string;
  let source: string;
  if (credentials.privateKey?.trim()) {
    source = "PRIVATE_KEY";
    pem = credentials.privateKey.trim();
    if (!pem.includes("-----BEGIN") && /^[A-Za-z0-9+/=\s]+$/.test(pem)) {
      pem = Buffer.from(pem, "base64").toString("utf8");
    }
    pem = pem.replace(/\\n/g, "\n");
  } else {
    const path = resolve(cwd, credentials.privateKeyPath?.trim() ?? "");
    source = `PRIVATE_KEY_PATH (${path})`;
    try {
      pem = readFileSync(path, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
      throw new StartError(
        `cannot read the GitHub App's private key at ${path} (${code}): fix PRIVATE_KEY_PATH, or set PRIVATE_KEY`,
      );
    }
  }
  try {
    // A real key, not only a file with PEM markers: the same check Node makes before signing.
    if (createPrivateKey(pem).asymmetricKeyType !== "rsa") throw new Error("not RSA");
  } catch {
    throw new StartError(
      `${source} is not the GitHub App's private key (a PEM "RSA PRIVATE KEY" as GitHub downloads it)`,
    );
  }
  return pem;
}
