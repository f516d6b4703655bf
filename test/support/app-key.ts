/**
 * Credentials of the GitHub App used in tests: an RSA key generated once per process (never a key
 * checked into the repository), the App id and the webhook secret, plus the two checks GitHub makes
 * with them: the App JWT's signature and the webhook body's HMAC.
 */
import { createHmac, createPublicKey, generateKeyPairSync, verify as verifySignature } from "node:crypto";

export const APP_ID = 123456;
export const WEBHOOK_SECRET = "prenv-test-webhook-secret";

interface KeyPair {
  readonly privateKey: string;
  readonly publicKey: string;
}

let keyPair: KeyPair | undefined;

function testKeyPair(): KeyPair {
  // PKCS#1 ("BEGIN RSA PRIVATE KEY") is the format GitHub hands out, so tests cover the conversion
  // @octokit/auth-app does before signing.
  keyPair ??= generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  });
  return keyPair;
}

/** The test App's private key (PEM, PKCS#1), generated on first use and cached for the process. */
export function appPrivateKey(): string {
  return testKeyPair().privateKey;
}

/** The public half of {@link appPrivateKey} (PEM, SPKI). */
export function appPublicKey(): string {
  return testKeyPair().publicKey;
}

/** The `X-Hub-Signature-256` header value GitHub sends with a webhook `body` signed by {@link WEBHOOK_SECRET}. */
export function sign(body: string): string {
  return `sha256=${createHmac("sha256", WEBHOOK_SECRET).update(body).digest("hex")}`;
}

/** Claims of a GitHub App JWT. `iss` is the App id (Octokit sends it as given, number or string). */
export interface AppJwtClaims {
  readonly iss: number | string;
  readonly iat: number;
  readonly exp: number;
}

/**
 * Checks a GitHub App JWT the way GitHub does: RS256, signed by the test App's key, issued by
 * {@link APP_ID}, valid for at most ten minutes. Returns the claims; throws an Error naming what is
 * wrong otherwise.
 */
export function verifyAppJwt(jwt: string): AppJwtClaims {
  const parts = jwt.split(".");
  if (parts.length !== 3) {
    throw new Error(`App JWT must have 3 dot-separated parts, got ${parts.length}`);
  }
  const [encodedHeader, encodedClaims, encodedSignature] = parts as [string, string, string];
  const header = decodeJsonPart(encodedHeader, "header");
  if (header["alg"] !== "RS256") {
    throw new Error(`App JWT must use alg RS256, got ${JSON.stringify(header["alg"])}`);
  }
  const signed = verifySignature(
    "RSA-SHA256",
    Buffer.from(`${encodedHeader}.${encodedClaims}`),
    createPublicKey(appPublicKey()),
    Buffer.from(encodedSignature, "base64url"),
  );
  if (!signed) {
    throw new Error("App JWT is not signed with the test App's private key");
  }
  const claims = decodeJsonPart(encodedClaims, "claims");
  const { iss, iat, exp } = claims;
  if (String(iss) !== String(APP_ID)) {
    throw new Error(`App JWT iss must be the App id ${APP_ID}, got ${JSON.stringify(iss)}`);
  }
  if (typeof iat !== "number" || typeof exp !== "number") {
    throw new Error("App JWT must carry numeric iat and exp claims");
  }
  if (exp <= iat || exp - iat > 600) {
    throw new Error(`App JWT must expire within 10 minutes of iat, got iat=${iat} exp=${exp}`);
  }
  return { iss: typeof iss === "number" ? iss : String(iss), iat, exp };
}

function decodeJsonPart(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    throw new Error(`App JWT ${what} is not base64url-encoded JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`App JWT ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}
