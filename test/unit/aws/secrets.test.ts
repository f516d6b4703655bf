// loadAppSecrets with the real Secrets Manager client, against a stand-in endpoint on 127.0.0.1.
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadAppSecrets, parseAppSecrets } from "../../../src/adapters/aws/secrets.js";
import { FAKE_CREDENTIALS, startAwsStandIn, type AwsStandIn, type StandInReply } from "./aws-standin.js";

// Distinctive values so a leak into an error message is easy to spot.
const APP_ID = "424242";
const PEM_LINES = [
  "-----BEGIN RSA PRIVATE KEY-----",
  "MIIEpQIBAAKCAQEAsecretkeymaterial",
  "-----END RSA PRIVATE KEY-----",
];
const WEBHOOK_SECRET = "whsec-do-not-leak-7f3a";

/** What the stand-in answers per SecretId; a queue, so a test can script failures then success. */
const replies = new Map<string, StandInReply[]>();
let standIn: AwsStandIn;
let client: SecretsManagerClient;

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
  client = new SecretsManagerClient({
    endpoint: standIn.endpoint,
    region: "eu-west-1",
    credentials: FAKE_CREDENTIALS,
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client.destroy();
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

describe("loadAppSecrets", () => {
  it("reads the three values from one JSON secret, turning literal \\n in the key into newlines", async () => {
    const secretId = secretWith(
      found(JSON.stringify({ APP_ID, PRIVATE_KEY: PEM_LINES.join("\\n"), WEBHOOK_SECRET, EXTRA: "ignored" })),
    );

    const secrets = await loadAppSecrets({ secretsManager: client, secretId });

    expect(secrets).toEqual({
      appId: APP_ID,
      privateKey: PEM_LINES.join("\n"),
      webhookSecret: WEBHOOK_SECRET,
    });
    expect(getCalls()).toEqual([secretId]);
    // It was the real client: a signed awsJson1.1 request.
    expect(standIn.calls[0]!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDSTANDIN\//);
    expect(standIn.calls[0]!.headers["content-type"]).toBe("application/x-amz-json-1.1");
  });

  it("keeps a key that already has real newlines and accepts a numeric APP_ID", async () => {
    const secretId = secretWith(
      found(JSON.stringify({ APP_ID: 424242, PRIVATE_KEY: PEM_LINES.join("\n"), WEBHOOK_SECRET })),
    );
    const secrets = await loadAppSecrets({ secretsManager: client, secretId });
    expect(secrets.appId).toBe("424242");
    expect(secrets.privateKey).toBe(PEM_LINES.join("\n"));
  });

  it("names exactly the missing keys and the secret, and no value", async () => {
    const secretId = secretWith(
      found(JSON.stringify({ APP_ID, PRIVATE_KEY: "   ", WEBHOOK: WEBHOOK_SECRET })),
    );

    const err = await loadAppSecrets({ secretsManager: client, secretId }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toContain(`'${secretId}'`);
    expect(message).toMatch(/is missing PRIVATE_KEY, WEBHOOK_SECRET \(/);
    expect(message).not.toMatch(/is missing APP_ID/);
    const everything = JSON.stringify(err, Object.getOwnPropertyNames(err)) + String((err as Error).cause);
    expect(everything).not.toContain(APP_ID);
    expect(everything).not.toContain(WEBHOOK_SECRET);
  });

  it.each([
    ["all keys absent", "{}", "APP_ID, PRIVATE_KEY, WEBHOOK_SECRET"],
    [
      "wrong types",
      JSON.stringify({ APP_ID: "7", PRIVATE_KEY: ["x"], WEBHOOK_SECRET: 5 }),
      "PRIVATE_KEY, WEBHOOK_SECRET",
    ],
    [
      "an APP_ID that is not a positive integer",
      JSON.stringify({ APP_ID: 1.5, PRIVATE_KEY: "k", WEBHOOK_SECRET: "s" }),
      "APP_ID",
    ],
  ])("reports %s", (_name, text, missing) => {
    expect(() => parseAppSecrets("s", text)).toThrow(`'s' is missing ${missing} (`);
  });

  it("does not quote the secret when it is not JSON, or not an object", async () => {
    const truncated = `{"APP_ID": "${APP_ID}", "WEBHOOK_SECRET": "${WEBHOOK_SECRET}"`;
    const secretId = secretWith(found(truncated));

    const err = await loadAppSecrets({ secretsManager: client, secretId }).catch((e: unknown) => e);

    expect((err as Error).message).toBe(
      `Secrets Manager secret '${secretId}' is not valid JSON; it must be a JSON object with non-empty ` +
        "string values for APP_ID, PRIVATE_KEY, WEBHOOK_SECRET.",
    );
    expect((err as Error).cause).toBeUndefined();
    const notObject = (() => {
      try {
        parseAppSecrets("s", JSON.stringify([WEBHOOK_SECRET]));
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(notObject?.message).toContain("'s' is not a JSON object");
    expect(notObject?.message).not.toContain(WEBHOOK_SECRET);
    expect(() => parseAppSecrets("s", undefined)).toThrow("has no SecretString");
  });

  it("asks Secrets Manager once per container, even for concurrent loads", async () => {
    const secretId = secretWith(found(JSON.stringify({ APP_ID, PRIVATE_KEY: "k", WEBHOOK_SECRET })));

    const [a, b] = await Promise.all([
      loadAppSecrets({ secretsManager: client, secretId }),
      loadAppSecrets({ secretsManager: client, secretId }),
    ]);
    const c = await loadAppSecrets({ secretsManager: client, secretId });

    expect(a).toBe(b);
    expect(c).toBe(a);
    expect(getCalls()).toEqual([secretId]);
  });

  it("does not remember a failed load: the next one asks again", async () => {
    const secretId = secretWith(
      awsError("AccessDeniedException", "User is not authorized to perform secretsmanager:GetSecretValue"),
      found(JSON.stringify({ APP_ID, PRIVATE_KEY: "k" })),
      found(JSON.stringify({ APP_ID, PRIVATE_KEY: "k", WEBHOOK_SECRET })),
    );
    const load = () => loadAppSecrets({ secretsManager: client, secretId });

    await expect(load()).rejects.toThrow(
      new RegExp(
        `Could not read the GitHub App secret '${secretId}' .*\\(AccessDeniedException\\).*GetSecretValue`,
      ),
    );
    await expect(load()).rejects.toThrow(/is missing WEBHOOK_SECRET \(/);
    await expect(load()).resolves.toMatchObject({ appId: APP_ID, webhookSecret: WEBHOOK_SECRET });
    await load();

    expect(getCalls()).toEqual([secretId, secretId, secretId]);
  });

  it("keeps the SDK error as the cause of a failed read", async () => {
    const secretId = secretWith(
      awsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret."),
    );

    const err = await loadAppSecrets({ secretsManager: client, secretId }).catch((e: unknown) => e);

    expect((err as Error).message).toContain("(ResourceNotFoundException)");
    expect((err as Error).cause).toMatchObject({ name: "ResourceNotFoundException" });
  });
});
