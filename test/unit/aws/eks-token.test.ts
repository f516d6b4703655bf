import type { AwsCredentialIdentity } from "@smithy/types";
import { describe, expect, it } from "vitest";
import {
  createEksToken,
  EKS_TOKEN_LIFETIME_MS,
  EksTokenCache,
  stsHost,
} from "../../../src/adapters/aws/eks-token.js";
import {
  amzDateMs,
  canonicalRequest,
  deriveSigningKey,
  eksTokenUrl,
  EMPTY_PAYLOAD_SHA256,
  sha256Hex,
  signatureHex,
  stringToSign,
} from "./sigv4-reference.js";

// AWS's documented example credentials (never valid anywhere).
const ACCESS_KEY_ID = "AKIDEXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
// Characters a real session token has (+ / =) that must survive encoding.
const SESSION_TOKEN = "IQoJb3JpZ2luX2Vj+EXAMPLE/session==";
const CLUSTER = "prenv-host";
const REGION = "eu-west-1";
const SIGNED_AT = new Date("2024-05-06T07:08:09Z");

const staticCredentials: AwsCredentialIdentity = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET };

/** The presigned URL inside a token, checking the token's framing on the way. */
function tokenUrl(token: string): URL {
  expect(token).toMatch(/^k8s-aws-v1\.[A-Za-z0-9_-]+$/); // base64url, no padding
  return eksTokenUrl(token);
}

/** Recomputes the token's signature from scratch, signing `headers` (lower-case names). */
function expectedSignature(url: URL, headers: Record<string, string>, secret = SECRET): string {
  const query = [...url.searchParams.entries()].filter(([name]) => name !== "X-Amz-Signature");
  const { text } = canonicalRequest({
    method: "GET",
    path: url.pathname,
    query,
    headers,
    payloadSha256: EMPTY_PAYLOAD_SHA256,
  });
  const [, date, region, service] = url.searchParams.get("X-Amz-Credential")!.split("/");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const key = deriveSigningKey(secret, date!, region!, service!);
  return signatureHex(key, stringToSign(url.searchParams.get("X-Amz-Date")!, scope, text));
}

describe("the reference SigV4 implementation the token is checked with", () => {
  // Published worked example: IAM ListUsers, 2015-08-30T12:36:00Z, us-east-1 (values confirmed
  // against the SigV4 documentation's "create a signed request" walkthrough).
  it("reproduces AWS's example canonical request hash, signing key and signature", () => {
    const { text, signedHeaders } = canonicalRequest({
      method: "GET",
      path: "/",
      query: [
        ["Action", "ListUsers"],
        ["Version", "2010-05-08"],
      ],
      headers: {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        Host: "iam.amazonaws.com",
        "X-Amz-Date": "20150830T123600Z",
      },
      payloadSha256: EMPTY_PAYLOAD_SHA256,
    });
    expect(signedHeaders).toBe("content-type;host;x-amz-date");
    expect(sha256Hex(text)).toBe("f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");

    const key = deriveSigningKey(SECRET, "20150830", "us-east-1", "iam");
    expect(key.toString("hex")).toBe("c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");

    const toSign = stringToSign("20150830T123600Z", "20150830/us-east-1/iam/aws4_request", text);
    expect(signatureHex(key, toSign)).toBe(
      "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
    );
  });
});

describe("createEksToken", () => {
  it("is a presigned STS GetCallerIdentity URL for the regional endpoint", async () => {
    const { token } = await createEksToken({
      clusterName: CLUSTER,
      region: REGION,
      credentials: { ...staticCredentials, sessionToken: SESSION_TOKEN },
      now: () => SIGNED_AT,
    });
    const url = tokenUrl(token);
    const q = url.searchParams;

    expect(url.protocol).toBe("https:");
    expect(url.host).toBe("sts.eu-west-1.amazonaws.com");
    expect(url.pathname).toBe("/");
    expect(q.get("Action")).toBe("GetCallerIdentity");
    expect(q.get("Version")).toBe("2011-06-15");
    expect(q.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
    expect(q.get("X-Amz-Expires")).toBe("60");
    expect(q.get("X-Amz-SignedHeaders")!.split(";")).toEqual(["host", "x-k8s-aws-id"]);
    expect(q.get("X-Amz-Credential")).toBe(`${ACCESS_KEY_ID}/20240506/eu-west-1/sts/aws4_request`);
    expect(q.get("X-Amz-Date")).toBe("20240506T070809Z");
    expect(q.get("X-Amz-Security-Token")).toBe(SESSION_TOKEN);
    expect(q.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    // The cluster name is a signed header, not a query parameter.
    expect(q.has("x-k8s-aws-id")).toBe(false);
  });

  it("carries a signature that only verifies with the cluster name as the signed x-k8s-aws-id header", async () => {
    const { token } = await createEksToken({
      clusterName: CLUSTER,
      region: REGION,
      credentials: staticCredentials,
      now: () => SIGNED_AT,
    });
    const url = tokenUrl(token);
    const actual = url.searchParams.get("X-Amz-Signature");

    expect(actual).toBe(expectedSignature(url, { host: url.host, "x-k8s-aws-id": CLUSTER }));
    // The same check refuses the token for another cluster, unsigned, or with another secret.
    expect(actual).not.toBe(expectedSignature(url, { host: url.host, "x-k8s-aws-id": "other-cluster" }));
    expect(actual).not.toBe(expectedSignature(url, { host: url.host }));
    expect(actual).not.toBe(
      expectedSignature(url, { host: url.host, "x-k8s-aws-id": CLUSTER }, "another-secret"),
    );
    // No session token with long-lived keys.
    expect(url.searchParams.has("X-Amz-Security-Token")).toBe(false);
  });

  it("signs with a session token when the credentials have one, and the signature covers it", async () => {
    const { token } = await createEksToken({
      clusterName: CLUSTER,
      region: REGION,
      credentials: () => Promise.resolve({ ...staticCredentials, sessionToken: SESSION_TOKEN }),
      now: () => SIGNED_AT,
    });
    const url = tokenUrl(token);
    const headers = { host: url.host, "x-k8s-aws-id": CLUSTER };
    expect(url.searchParams.get("X-Amz-Signature")).toBe(expectedSignature(url, headers));

    url.searchParams.set("X-Amz-Security-Token", "swapped");
    expect(url.searchParams.get("X-Amz-Signature")).not.toBe(expectedSignature(url, headers));
  });

  it("expires 14 minutes after signing, or when the signing credentials do if sooner", async () => {
    const plain = await createEksToken({
      clusterName: CLUSTER,
      region: REGION,
      credentials: staticCredentials,
      now: () => SIGNED_AT,
    });
    expect(plain.expiresAt.toISOString()).toBe("2024-05-06T07:22:09.000Z");

    const credentialsEnd = new Date("2024-05-06T07:13:00Z");
    const shortLived = await createEksToken({
      clusterName: CLUSTER,
      region: REGION,
      credentials: { ...staticCredentials, sessionToken: SESSION_TOKEN, expiration: credentialsEnd },
      now: () => SIGNED_AT,
    });
    expect(shortLived.expiresAt).toEqual(credentialsEnd);
  });

  it.each([
    ["us-east-1", "sts.us-east-1.amazonaws.com"],
    ["eu-central-1", "sts.eu-central-1.amazonaws.com"],
    ["cn-north-1", "sts.cn-north-1.amazonaws.com.cn"],
  ])("uses the regional STS host for %s", async (region, host) => {
    expect(stsHost(region)).toBe(host);
    const { token } = await createEksToken({ clusterName: CLUSTER, region, credentials: staticCredentials });
    const url = tokenUrl(token);
    expect(url.host).toBe(host);
    expect(url.searchParams.get("X-Amz-Credential")).toContain(`/${region}/sts/aws4_request`);
  });

  it("refuses an empty cluster name or region", async () => {
    await expect(
      createEksToken({ clusterName: "", region: REGION, credentials: staticCredentials }),
    ).rejects.toThrow(/clusterName/);
    await expect(
      createEksToken({ clusterName: CLUSTER, region: "", credentials: staticCredentials }),
    ).rejects.toThrow(/region/);
  });
});

describe("EksTokenCache", () => {
  const MINUTE = 60_000;

  function setup(start = SIGNED_AT) {
    let now = start.getTime();
    let provided = 0;
    const cache = new EksTokenCache({
      clusterName: CLUSTER,
      region: REGION,
      credentials: () => {
        provided += 1;
        return Promise.resolve(staticCredentials);
      },
      now: () => new Date(now),
    });
    return {
      cache,
      advance: (ms: number) => (now += ms),
      now: () => now,
      mintings: () => provided,
    };
  }

  const signedAt = (token: string): number => amzDateMs(tokenUrl(token).searchParams.get("X-Amz-Date")!);

  it("returns the same token until a minute before it expires, then a new one", async () => {
    const t = setup();
    const first = await t.cache.token();
    t.advance(13 * MINUTE - 1);
    expect(await t.cache.token()).toBe(first);
    expect(t.mintings()).toBe(1);

    t.advance(1);
    const second = await t.cache.token();
    expect(second).not.toBe(first);
    expect(t.mintings()).toBe(2);
    expect(signedAt(second)).toBe(SIGNED_AT.getTime() + 13 * MINUTE);
  });

  it("never hands out a token older than 13 minutes (EKS takes one up to 15)", async () => {
    const t = setup();
    for (let step = 0; step < 2 * 60 * 2; step += 1) {
      const age = t.now() - signedAt(await t.cache.token());
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(EKS_TOKEN_LIFETIME_MS - MINUTE);
      t.advance(30_000);
    }
    // Two hours in 30-second steps with a 13-minute reuse window: 10 tokens, not 240.
    expect(t.mintings()).toBe(10);
  });

  it("shares one minting between concurrent callers", async () => {
    const t = setup();
    const tokens = await Promise.all([t.cache.token(), t.cache.token(), t.cache.token()]);
    expect(new Set(tokens).size).toBe(1);
    expect(t.mintings()).toBe(1);
  });

  it("does not remember a failed minting", async () => {
    let calls = 0;
    const cache = new EksTokenCache({
      clusterName: CLUSTER,
      region: REGION,
      credentials: () => {
        calls += 1;
        return calls === 1
          ? Promise.reject(new Error("credentials not ready"))
          : Promise.resolve(staticCredentials);
      },
      now: () => SIGNED_AT,
    });
    await expect(cache.token()).rejects.toThrow("credentials not ready");
    expect(tokenUrl(await cache.token()).host).toBe("sts.eu-west-1.amazonaws.com");
    expect(calls).toBe(2);
  });
});
