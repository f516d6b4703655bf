// prenv's AWS JSON-protocol client against a stand-in endpoint: the request is what the protocol
// says (POST, X-Amz-Target, content type) and its SigV4 signature is right by an independent
// implementation; throttling and 5xx answers are retried, other errors carry AWS's code.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AwsError, AwsJsonClient, credentialsFrom, SQS } from "../../../src/adapters/aws/json-api.js";
import { FAKE_CREDENTIALS, startAwsStandIn, type AwsStandIn, type StandInReply } from "./aws-standin.js";
import { canonicalRequest, deriveSigningKey, signatureHex, stringToSign } from "./sigv4-reference.js";

let standIn: AwsStandIn;
const replies: StandInReply[] = [];

beforeAll(async () => {
  standIn = await startAwsStandIn(() => replies.shift());
});
afterAll(() => standIn.close());
beforeEach(() => {
  standIn.calls.length = 0;
  replies.length = 0;
});

const client = (opts: { maxAttempts?: number } = {}) =>
  new AwsJsonClient(SQS, {
    region: "eu-west-1",
    endpoint: standIn.endpoint,
    credentials: { ...FAKE_CREDENTIALS, sessionToken: "session-token" },
    sleep: () => Promise.resolve(),
    ...opts,
  });

describe("AwsJsonClient", () => {
  it("sends one signed POST that an independent SigV4 implementation verifies", async () => {
    replies.push({ status: 200, body: { MessageId: "m-1" } });
    const input = { QueueUrl: "http://q/1/jobs.fifo", MessageBody: '{"a":1}', MessageGroupId: "g" };

    expect(await client().call("SendMessage", input)).toEqual({ MessageId: "m-1" });

    const call = standIn.calls[0]!;
    expect(call.method).toBe("POST");
    expect(call.headers["x-amz-target"]).toBe("AmazonSQS.SendMessage");
    expect(call.headers["content-type"]).toBe("application/x-amz-json-1.0");
    expect(call.headers["x-amz-security-token"]).toBe("session-token");
    expect(JSON.parse(call.body)).toEqual(input);
    const auth =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/eu-west-1\/sqs\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
        String(call.headers.authorization),
      );
    expect(auth).not.toBeNull();
    const [, keyId, date, signed, signature] = auth!;
    expect(keyId).toBe(FAKE_CREDENTIALS.accessKeyId);
    const headers = Object.fromEntries(signed!.split(";").map((h) => [h, String(call.headers[h])]));
    expect(Object.keys(headers)).toEqual(expect.arrayContaining(["host", "x-amz-date", "x-amz-target"]));
    const canonical = canonicalRequest({
      method: "POST",
      path: "/",
      query: [],
      headers,
      payloadSha256: createHash("sha256").update(call.body).digest("hex"),
    });
    const scope = `${date}/eu-west-1/sqs/aws4_request`;
    const key = deriveSigningKey(FAKE_CREDENTIALS.secretAccessKey, date!, "eu-west-1", "sqs");
    expect(signature).toBe(signatureHex(key, stringToSign(headers["x-amz-date"]!, scope, canonical.text)));
  });

  it("retries throttling and server errors, then succeeds", async () => {
    replies.push(
      { status: 400, body: { __type: "com.amazonaws.sqs#ThrottlingException", message: "slow down" } },
      { status: 503, body: {} },
      { status: 200, body: { MessageId: "m-2" } },
    );
    expect(await client().call("SendMessage", {})).toEqual({ MessageId: "m-2" });
    expect(standIn.calls).toHaveLength(3);
  });

  it("does not retry what retrying cannot fix, and names AWS's error code", async () => {
    replies.push({
      status: 400,
      body: { __type: "com.amazonaws.sqs#QueueDoesNotExist", message: "The specified queue does not exist." },
    });
    const err = await client()
      .call("SendMessage", {})
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsError);
    expect(err).toMatchObject({ name: "QueueDoesNotExist", status: 400 });
    expect((err as Error).message).toBe("The specified queue does not exist.");
    expect(standIn.calls).toHaveLength(1);
  });

  it("gives up after its attempts", async () => {
    replies.push({ status: 500, body: {} }, { status: 500, body: {} });
    await expect(client({ maxAttempts: 2 }).call("SendMessage", {})).rejects.toMatchObject({ status: 500 });
    expect(standIn.calls).toHaveLength(2);
  });
});

describe("credentialsFrom", () => {
  it("takes the function's credentials from the environment, and says which are missing", () => {
    expect(credentialsFrom({ accessKeyId: "a", secretAccessKey: "b", sessionToken: undefined })).toEqual({
      accessKeyId: "a",
      secretAccessKey: "b",
    });
    expect(() =>
      credentialsFrom({ accessKeyId: undefined, secretAccessKey: "b", sessionToken: "t" }),
    ).toThrow(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set/);
  });
});
