// loadSecret with prenv's Secrets Manager client (AWS JSON 1.1, SigV4), against a stand-in endpoint
// on 127.0.0.1: one secret per kind of function (webhook, app, kubeconfig), each with its own keys.
import { AwsJsonClient, SECRETS_MANAGER } from "../../../src/adapters/aws/json-api.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadSecret, parseSecret } from "../../../src/adapters/aws/secrets.js";
import { FAKE_CREDENTIALS, startAwsStandIn, type AwsStandIn, type StandInReply } from "./aws-standin.js";

// Distinctive values so a leak into an error message is easy to spot.
const APP_ID = "424242";
const PEM_LINES = [
  "-----BEGIN RSA PRIVATE KEY-----",
  "MIIEpQIBAAKCAQEAsecretkeymaterial",
  "-----END RSA PRIVATE KEY-----",
];
const WEBHOOK_SECRET = "whsec-do-not-leak-7f3a";
const CLIENT_SECRET = "client-secret-do-not-leak-9b1c";

/** What the stand-in answers per SecretId; a queue, so a test can script failures then success. */
const replies = new Map<string, StandInReply[]>();
let standIn: AwsStandIn;
let client: AwsJsonClient;

const found = (secretString: string): StandInReply => ({
  status: 200,
  body: {
    ARN: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:x",
    Name: "x",
    SecretString: secretString,
  },
});
const awsError = (type: string, message: string): StandInReply => ({
  status: 400,
  body: { __type: type, message },
});

beforeAll(async () => {
  standIn = await startAwsStandIn((call) => {
    if (call.method !== "POST" || call.headers["x-amz-target"] !== "secretsmanager.GetSecretValue")
      return undefined;
    const { SecretId } = JSON.parse(call.body) as { SecretId: string };
    return replies.get(SecretId)?.shift();
  });
  client = new AwsJsonClient(SECRETS_MANAGER, {
    endpoint: standIn.endpoint,
    region: "eu-west-1",
    credentials: FAKE_CREDENTIALS,
    maxAttempts: 1,
  });
});

afterAll(async () => {
  await standIn.close();
});

beforeEach(() => {
  standIn.calls.length = 0;
  replies.clear();
});

let counter = 0;
/** A secret id unique to the test, since loads are memoised per container (i.e. per test file). */
function secretWith(...answers: StandInReply[]): string {
  const id = `prenv/github-app-${++counter}`;
  replies.set(id, answers);
  return id;
}

const getCalls = () => standIn.calls.map((c) => (JSON.parse(c.body) as { SecretId: string }).SecretId);

const loadApp = (secretId: string) => loadSecret("app", { secretsManager: client, secretId });

describe("loadSecret", () => {
  it("reads the App's id and private key from one JSON secret, turning literal \\n in the key into newlines", async () => {
    const secretId = secretWith(
      found(JSON.stringify({ APP_ID, PRIVATE_KEY: PEM_LINES.join("\\n"), EXTRA: "ignored" })),
    );

    const secrets = await loadApp(secretId);

    expect(secrets).toEqual({ APP_ID, PRIVATE_KEY: PEM_LINES.join("\n") });
    expect(getCalls()).toEqual([secretId]);
    // It was the real client: a signed awsJson1.1 request.
    expect(standIn.calls[0]!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDSTANDIN\//);
    expect(standIn.calls[0]!.headers["content-type"]).toBe("application/x-amz-json-1.1");
  });

  it("keeps a key that already has real newlines and accepts a numeric APP_ID", async () => {
    const secretId = secretWith(found(JSON.stringify({ APP_ID: 424242, PRIVATE_KEY: PEM_LINES.join("\n") })));
    const secrets = await loadApp(secretId);
    expect(secrets.APP_ID).toBe("424242");
    expect(secrets.PRIVATE_KEY).toBe(PEM_LINES.join("\n"));
  });

  it("reads the webhook secret and the kubeconfig function's client credentials, each with its own keys", async () => {
    const webhook = secretWith(found(JSON.stringify({ WEBHOOK_SECRET, APP_ID })));
    const kubeconfig = secretWith(
      found(JSON.stringify({ GITHUB_CLIENT_ID: "Iv23abc", GITHUB_CLIENT_SECRET: CLIENT_SECRET })),
    );
    expect(await loadSecret("webhook", { secretsManager: client, secretId: webhook })).toEqual({
      WEBHOOK_SECRET,
      APP_ID,
    });
    expect(await loadSecret("kubeconfig", { secretsManager: client, secretId: kubeconfig })).toEqual({
      GITHUB_CLIENT_ID: "Iv23abc",
      GITHUB_CLIENT_SECRET: CLIENT_SECRET,
    });
    // An App secret is not a kubeconfig secret: the keys are checked per kind.
    expect(() => parseSecret("kubeconfig", "k", JSON.stringify({ APP_ID, PRIVATE_KEY: "k" }))).toThrow(
      "'k' is missing GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET (",
    );
  });

  it("names exactly the missing keys and the secret, and no value", async () => {
    const secretId = secretWith(found(JSON.stringify({ WEBHOOK_SECRET, PRIVATE_KEY: "   " })));

    const err = await loadApp(secretId).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toContain(`'${secretId}'`);
    expect(message).toMatch(/is missing APP_ID, PRIVATE_KEY \(/);
    const everything = JSON.stringify(err, Object.getOwnPropertyNames(err)) + String((err as Error).cause);
    expect(everything).not.toContain(WEBHOOK_SECRET);
  });

  it.each([
    ["all keys absent", "app", "{}", "APP_ID, PRIVATE_KEY"],
    ["wrong types", "webhook", JSON.stringify({ APP_ID: "7", WEBHOOK_SECRET: 5 }), "WEBHOOK_SECRET"],
    [
      "an APP_ID that is not a positive integer",
      "app",
      JSON.stringify({ APP_ID: 1.5, PRIVATE_KEY: "k" }),
      "APP_ID",
    ],
    [
      "an APP_ID that is not a number",
      "webhook",
      JSON.stringify({ APP_ID: "prenv", WEBHOOK_SECRET: "s" }),
      "APP_ID",
    ],
  ] as const)("reports %s", (_name, kind, text, missing) => {
    expect(() => parseSecret(kind, "s", text)).toThrow(`'s' is missing ${missing} (`);
  });

  it("does not quote the secret when it is not JSON, or not an object", async () => {
    const truncated = `{"APP_ID": "${APP_ID}", "PRIVATE_KEY": "${PEM_LINES[1]}"`;
    const secretId = secretWith(found(truncated));

    const err = await loadApp(secretId).catch((e: unknown) => e);

    expect((err as Error).message).toBe(
      `Secrets Manager secret '${secretId}' is not valid JSON; it must be a JSON object with non-empty ` +
        "string values for APP_ID, PRIVATE_KEY.",
    );
    expect((err as Error).cause).toBeUndefined();
    const notObject = (() => {
      try {
        parseSecret("webhook", "s", JSON.stringify([WEBHOOK_SECRET]));
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(notObject?.message).toContain("'s' is not a JSON object");
    expect(notObject?.message).not.toContain(WEBHOOK_SECRET);
    expect(() => parseSecret("app", "s", undefined)).toThrow("has no SecretString");
  });

  it("asks Secrets Manager once per container, even for concurrent loads", async () => {
    const secretId = secretWith(found(JSON.stringify({ APP_ID, PRIVATE_KEY: "k" })));

    const [a, b] = await Promise.all([loadApp(secretId), loadApp(secretId)]);
    const c = await loadApp(secretId);

    expect(a).toBe(b);
    expect(c).toBe(a);
    expect(getCalls()).toEqual([secretId]);
  });

  it("does not remember a failed load: the next one asks again", async () => {
    const secretId = secretWith(
      awsError("AccessDeniedException", "User is not authorized to perform secretsmanager:GetSecretValue"),
      found(JSON.stringify({ APP_ID })),
      found(JSON.stringify({ APP_ID, PRIVATE_KEY: "k" })),
    );
    const load = () => loadApp(secretId);

    await expect(load()).rejects.toThrow(
      new RegExp(`Could not read the app secret '${secretId}' .*\\(AccessDeniedException\\).*GetSecretValue`),
    );
    await expect(load()).rejects.toThrow(/is missing PRIVATE_KEY \(/);
    await expect(load()).resolves.toMatchObject({ APP_ID, PRIVATE_KEY: "k" });
    await load();

    expect(getCalls()).toEqual([secretId, secretId, secretId]);
  });

  it("keeps the AWS error as the cause of a failed read", async () => {
    const secretId = secretWith(
      awsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret."),
    );

    const err = await loadApp(secretId).catch((e: unknown) => e);

    expect((err as Error).message).toContain("(ResourceNotFoundException)");
    expect((err as Error).cause).toMatchObject({ name: "ResourceNotFoundException" });
  });
});
