// The GitHub App's credentials on Lambda, split so that each function can read only what it needs
// (each function's IAM role may read only its own secret; see serverless.yml):
//   webhook     {"WEBHOOK_SECRET": "...", "APP_ID": "..."}         the internet-facing webhook function
//   app         {"APP_ID": "...", "PRIVATE_KEY": "-----BEGIN ..."}  the worker and the janitor
//   kubeconfig  {"GITHUB_CLIENT_ID": "...", "GITHUB_CLIENT_SECRET": "..."}  the kubeconfig function
// Each is one Secrets Manager secret holding a JSON object, read once per container. Errors name
// the secret and the keys at fault, never a value: not even the JSON parser's message goes out,
// since it quotes the text it choked on.
import type { AwsJsonClient } from "./json-api.js";

export const SECRET_KEYS = {
  /** The App id is not secret; the webhook function needs it to ignore the App's own check runs. */
  webhook: ["WEBHOOK_SECRET", "APP_ID"],
  app: ["APP_ID", "PRIVATE_KEY"],
  kubeconfig: ["GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET"],
} as const;

export type SecretKind = keyof typeof SECRET_KEYS;
/** The values of one secret, by key. */
export type SecretValues<K extends SecretKind> = Record<(typeof SECRET_KEYS)[K][number], string>;

export interface LoadSecretOptions {
  /** An AwsJsonClient for Secrets Manager (json-api.ts). */
  secretsManager: AwsJsonClient;
  /** Name or ARN of the secret. */
  secretId: string;
}

const expected = (kind: SecretKind) =>
  `a JSON object with non-empty string values for ${SECRET_KEYS[kind].join(", ")}`;

// Per container, per secret. A failed load is forgotten so the next invocation tries again.
const loads = new Map<string, Promise<Record<string, string>>>();

/** One of prenv's secrets, read from Secrets Manager once per container. */
export function loadSecret<K extends SecretKind>(kind: K, opts: LoadSecretOptions): Promise<SecretValues<K>> {
  const key = `${kind}\0${opts.secretId}`;
  const cached = loads.get(key);
  if (cached) return cached as Promise<SecretValues<K>>;
  const load = fetchSecret(kind, opts);
  loads.set(key, load);
  load.catch(() => {
    if (loads.get(key) === load) loads.delete(key);
  });
  return load;
}

async function fetchSecret<K extends SecretKind>(
  kind: K,
  { secretsManager, secretId }: LoadSecretOptions,
): Promise<SecretValues<K>> {
  let secretString: string | undefined;
  try {
    const { SecretString } = await secretsManager.call("GetSecretValue", { SecretId: secretId });
    secretString = typeof SecretString === "string" ? SecretString : undefined;
  } catch (err) {
    const name = err instanceof Error ? err.name : "unknown error";
    throw new Error(
      `Could not read the ${kind} secret '${secretId}' from Secrets Manager (${name}). Check that ` +
        "it exists in this region and that the function's role allows secretsmanager:GetSecretValue " +
        "on it (and kms:Decrypt if it is encrypted with a customer-managed key).",
      { cause: err },
    );
  }
  return parseSecret(kind, secretId, secretString);
}

/** Validates a secret's text. Exported for callers that read it some other way. */
export function parseSecret<K extends SecretKind>(
  kind: K,
  secretId: string,
  secretString: string | undefined,
): SecretValues<K> {
  if (secretString === undefined) {
    throw new Error(
      `Secrets Manager secret '${secretId}' has no SecretString; store it as ${expected(kind)}.`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    // No cause: a JSON.parse error message quotes the secret's text.
    throw new Error(`Secrets Manager secret '${secretId}' is not valid JSON; it must be ${expected(kind)}.`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(
      `Secrets Manager secret '${secretId}' is not a JSON object; it must be ${expected(kind)}.`,
    );
  }
  const fields = parsed as Record<string, unknown>;
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const key of SECRET_KEYS[kind]) {
    const value = readField(fields[key], key === "APP_ID");
    if (value === undefined) missing.push(key);
    else values[key] = normalise(key, value);
  }
  if (missing.length > 0) {
    throw new Error(
      `Secrets Manager secret '${secretId}' is missing ${missing.join(", ")} ` +
        `(absent, empty or not a string); it must be ${expected(kind)}.`,
    );
  }
  return values as SecretValues<K>;
}

function normalise(key: string, value: string): string {
  if (key === "PRIVATE_KEY") return value.replace(/\\n/g, "\n");
  if (key === "WEBHOOK_SECRET") return value;
  return value.trim();
}

/** A usable value: a non-blank string (or, for the App id, an integer, as JSON tools often write it). */
function readField(value: unknown, integerAllowed: boolean): string | undefined {
  if (integerAllowed && typeof value === "number" && Number.isSafeInteger(value) && value > 0) {
    return String(value);
  }
  if (integerAllowed && typeof value === "string" && !/^\s*[1-9][0-9]*\s*$/.test(value)) return undefined;
  if (typeof value === "string" && value.trim() !== "") return value;
  return undefined;
}
