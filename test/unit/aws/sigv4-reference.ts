/**
 * An independent Signature Version 4 implementation for tests, written from the SigV4 spec with
 * node:crypto only (no smithy code), so that it can judge what @smithy/signature-v4 produced.
 * It is itself checked against AWS's published worked example (IAM ListUsers, 2015-08-30).
 */
import { createHash, createHmac } from "node:crypto";

export const EMPTY_PAYLOAD_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const hmac = (key: string | Buffer, data: string): Buffer => createHmac("sha256", key).update(data).digest();

export const sha256Hex = (data: string): string => createHash("sha256").update(data).digest("hex");

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
export function deriveSigningKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac(`AWS4${secret}`, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, "aws4_request");
}

/** Percent-encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ */
export function uriEncode(value: string): string {
  return [...Buffer.from(value, "utf8")]
    .map((byte) => {
      const ch = String.fromCharCode(byte);
      return /[A-Za-z0-9\-_.~]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    })
    .join("");
}

export function canonicalQuery(params: [string, string][]): string {
  return params
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

export interface CanonicalRequestInput {
  method: string;
  path: string;
  query: [string, string][];
  /** Header name (any case) to value; every one given here is signed. */
  headers: Record<string, string>;
  payloadSha256: string;
}

export function canonicalRequest(input: CanonicalRequestInput): { text: string; signedHeaders: string } {
  const headers = Object.entries(input.headers)
    .map(([name, value]) => [name.toLowerCase(), value.trim().replace(/\s+/g, " ")] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  const signedHeaders = headers.map(([name]) => name).join(";");
  const text = [
    input.method,
    input.path,
    canonicalQuery(input.query),
    ...headers.map(([name, value]) => `${name}:${value}`),
    "",
    signedHeaders,
    input.payloadSha256,
  ].join("\n");
  return { text, signedHeaders };
}

export function stringToSign(amzDate: string, scope: string, canonicalRequestText: string): string {
  return ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequestText)].join("\n");
}

export function signatureHex(signingKey: Buffer, toSign: string): string {
  return createHmac("sha256", signingKey).update(toSign).digest("hex");
}

/** The presigned URL inside an EKS token; throws unless it is `k8s-aws-v1.` + unpadded base64url. */
export function eksTokenUrl(token: string): URL {
  const match = /^k8s-aws-v1\.([A-Za-z0-9_-]+)$/.exec(token);
  if (!match) throw new Error("not a k8s-aws-v1 token in unpadded base64url");
  return new URL(Buffer.from(match[1]!, "base64url").toString("utf8"));
}

/** `YYYYMMDDTHHMMSSZ` (X-Amz-Date) as epoch milliseconds. */
export function amzDateMs(amzDate: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) throw new Error(`not an X-Amz-Date: ${amzDate}`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}
