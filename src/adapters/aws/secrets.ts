// The GitHub App's credentials on Lambda: one Secrets Manager secret holding a JSON object
// {"APP_ID": "...", "PRIVATE_KEY": "-----BEGIN ...", "WEBHOOK_SECRET": "..."}, read once per
// container. Errors name the secret and the keys at fault, never a value: not even the JSON
// parser's message goes out, since it quotes the text it choked on.
import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

export interface AppSecrets {
  appId: string;
  /** PEM; literal `\n` sequences (a key pasted onto one line) are turned back into newlines. */
  privateKey: string;
  webhookSecret: string;
}

export interface LoadAppSecretsOptions {
  secretsManager: SecretsManagerClient;
  /** Name or ARN of the secret. */
  secretId: string;
}

const KEYS = ["APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET"] as const;
type Key = (typeof KEYS)[number];

const EXPECTED = `a JSON object with non-empty string values for ${KEYS.join(", ")}`;

// Per container, per secret. A failed load is forgotten so the next invocation tries again.
const loads = new Map<string, Promise<AppSecrets>>();

/** The App's id, private key and webhook secret, read from Secrets Manager once per container. */
export function loadAppSecrets(opts: LoadAppSecretsOptions): Promise<AppSecrets> {
  const cached = loads.get(opts.secretId);
  if (cached) return cached;
  const load = fetchAppSecrets(opts);
  loads.set(opts.secretId, load);
  load.catch(() => {
    if (loads.get(opts.secretId) === load) loads.delete(opts.secretId);
  });
  return load;
}

async function fetchAppSecrets({ secretsManager, secretId }: LoadAppSecretsOptions): Promise<AppSecrets> {
  let secretString: string | undefined;
  try {
    ({ SecretString: secretString } = await secretsManager.send(
      new GetSecretValueCommand({ SecretId: secretId }),
    ));
  } catch (err) {
    const kind = err instanceof Error ? err.name : "unknown error";
    throw new Error(
      `Could not read the GitHub App secret '${secretId}' from Secrets Manager (${kind}). Check that ` +
        "it exists in this region and that the function's role allows secretsmanager:GetSecretValue " +
        "on it (and kms:Decrypt if it is encrypted with a customer-managed key).",
      { cause: err },
    );
  }
  return parseAppSecrets(secretId, secretString);
}

/** Validates the secret's text. Exported for callers that read it some other way. */
export function parseAppSecrets(secretId: string, secretString: string | undefined): AppSecrets {
  if (secretString === undefined) {
    throw new Error(`Secrets Manager secret '${secretId}' has no SecretString; store it as ${EXPECTED}.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    // No cause: a JSON.parse error message quotes the secret's text.
    throw new Error(`Secrets Manager secret '${secretId}' is not valid JSON; it must be ${EXPECTED}.`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`Secrets Manager secret '${secretId}' is not a JSON object; it must be ${EXPECTED}.`);
  }
  const fields = parsed as Record<string, unknown>;
  const appId = readField(fields.APP_ID, true);
  const privateKey = readField(fields.PRIVATE_KEY, false);
  const webhookSecret = readField(fields.WEBHOOK_SECRET, false);
  if (appId === undefined || privateKey === undefined || webhookSecret === undefined) {
    const found: Record<Key, string | undefined> = {
      APP_ID: appId,
      PRIVATE_KEY: privateKey,
      WEBHOOK_SECRET: webhookSecret,
    };
    const missing = KEYS.filter((key) => found[key] === undefined);
    throw new Error(
      `Secrets Manager secret '${secretId}' is missing ${missing.join(", ")} ` +
        `(absent, empty or not a string); it must be ${EXPECTED}.`,
    );
  }
  return {
    appId: appId.trim(),
    privateKey: privateKey.replace(/\\n/g, "\n"),
    webhookSecret,
  };
}

/** A usable value: a non-blank string (or, for the App id, an integer, as JSON tools often write it). */
function readField(value: unknown, integerAllowed: boolean): string | undefined {
  if (integerAllowed && typeof value === "number" && Number.isSafeInteger(value) && value > 0) {
    return String(value);
  }
  if (typeof value === "string" && value.trim() !== "") return value;
  return undefined;
}
