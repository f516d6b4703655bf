// The GitHub App's credentials, each function only its own: from the environment when all of a
// function's keys are set there (`npm start`, the CLI, `npm run offline`), else from the function's
// own Secrets Manager secret (see src/adapters/aws/secrets.ts and serverless.yml). Never another
// function's secret.
import { AwsJsonClient, SECRETS_MANAGER } from "../../adapters/aws/json-api.js";
import { loadSecret, SECRET_KEYS, type SecretKind, type SecretValues } from "../../adapters/aws/secrets.js";
import { parseAppId, type Settings } from "../settings.js";
import { functionCredentials } from "./aws.js";

/** The App itself (worker, janitor, `npm start`, the CLI's janitor): it signs as the App. */
export interface AppCredentials {
  appId: number;
  privateKey: string;
}

/** The webhook function: verifies deliveries, and ignores the App's own check runs. */
export interface WebhookCredentials {
  appId: number;
  webhookSecret: string;
}

/** The GitHub App as an OAuth client: GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET (kubeconfig endpoint). */
export interface AppClientCredentials {
  clientId: string;
  clientSecret: string;
}

const SECRET_ID_VARIABLE: Record<SecretKind, string> = {
  webhook: "PRENV_WEBHOOK_SECRET_ID",
  app: "PRENV_SECRET_ID",
  kubeconfig: "PRENV_KUBECONFIG_SECRET_ID",
};

/** The keys of one secret as the environment gives them, or null when any is missing there. */
function fromEnvironment<K extends SecretKind>(kind: K, settings: Settings): SecretValues<K> | null {
  const c = settings.credentials;
  const env: Record<string, string | undefined> = {
    APP_ID: settings.appId === undefined ? undefined : String(settings.appId),
    PRIVATE_KEY: c.privateKey?.replace(/\\n/g, "\n"),
    WEBHOOK_SECRET: c.webhookSecret,
    GITHUB_CLIENT_ID: c.clientId,
    GITHUB_CLIENT_SECRET: c.clientSecret,
  };
  const keys: readonly string[] = SECRET_KEYS[kind];
  if (!keys.every((key) => env[key])) return null;
  return Object.fromEntries(keys.map((key) => [key, env[key]!])) as SecretValues<K>;
}

async function functionSecret<K extends SecretKind>(kind: K, settings: Settings): Promise<SecretValues<K>> {
  const own = fromEnvironment(kind, settings);
  if (own) return own;
  const secretId = settings.aws.secretIds[kind];
  if (!secretId) {
    const keys = SECRET_KEYS[kind];
    throw new Error(
      `prenv cannot start: set ${SECRET_ID_VARIABLE[kind]} (a Secrets Manager secret with ${keys.join(", ")}), or ${keys.join(" and ")}`,
    );
  }
  const { region, secretsEndpoint: endpoint } = settings.aws;
  const credentials = functionCredentials(settings);
  const secretsManager = new AwsJsonClient(SECRETS_MANAGER, { region, credentials, endpoint });
  return loadSecret(kind, { secretsManager, secretId });
}

export async function appCredentials(settings: Settings): Promise<AppCredentials> {
  const s = await functionSecret("app", settings);
  return { appId: parseAppId(s.APP_ID), privateKey: s.PRIVATE_KEY };
}

export async function webhookCredentials(settings: Settings): Promise<WebhookCredentials> {
  const s = await functionSecret("webhook", settings);
  return { appId: parseAppId(s.APP_ID), webhookSecret: s.WEBHOOK_SECRET };
}

export async function clientCredentials(settings: Settings): Promise<AppClientCredentials> {
  const s = await functionSecret("kubeconfig", settings);
  return { clientId: s.GITHUB_CLIENT_ID, clientSecret: s.GITHUB_CLIENT_SECRET };
}
