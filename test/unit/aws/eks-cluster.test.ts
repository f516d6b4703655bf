// describeCluster and eksKubeConfig with the real EKS client against a stand-in endpoint, and a
// real client-node request to a local HTTPS "API server" trusted through the DescribeCluster CA.
import { EKSClient } from "@aws-sdk/client-eks";
import { RequestContext, VersionApi } from "@kubernetes/client-node";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { describeCluster, eksKubeConfig } from "../../../src/adapters/aws/eks-token.js";
import { PrenvError } from "../../../src/errors.js";
import { FAKE_CREDENTIALS, startAwsStandIn, type AwsStandIn, type StandInReply } from "./aws-standin.js";
import { amzDateMs, eksTokenUrl } from "./sigv4-reference.js";

const REGION = "eu-west-1";
const VERSION = {
  major: "1",
  minor: "31",
  gitVersion: "v1.31.0-eks-test",
  gitCommit: "0",
  gitTreeState: "clean",
  buildDate: "2024-01-01T00:00:00Z",
  goVersion: "go1.22",
  compiler: "gc",
  platform: "linux/amd64",
};

/** A self-signed certificate for 127.0.0.1, standing in for the EKS cluster CA + serving cert. */
function selfSignedCert(dir: string): { cert: string; key: string } {
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      "key.pem",
      "-out",
      "cert.pem",
      "-days",
      "1",
      "-subj",
      "/CN=prenv-test-apiserver",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { cwd: dir, stdio: ["ignore", "ignore", "pipe"] },
  );
  return {
    cert: readFileSync(join(dir, "cert.pem"), "utf8"),
    key: readFileSync(join(dir, "key.pem"), "utf8"),
  };
}

const clusterReplies = new Map<string, StandInReply[]>();
let eksStandIn: AwsStandIn;
let eks: EKSClient;
let apiServer: Server;
let apiServerUrl: string;
let caData: string;
const apiRequests: { path: string; authorization: string | undefined }[] = [];
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "prenv-eks-"));
  const { cert, key } = selfSignedCert(tmp);
  caData = Buffer.from(cert).toString("base64");

  apiServer = createServer({ cert, key }, (req, res) => {
    apiRequests.push({ path: req.url ?? "", authorization: req.headers.authorization });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(VERSION));
  });
  await new Promise<void>((resolve) => apiServer.listen(0, "127.0.0.1", resolve));
  apiServerUrl = `https://127.0.0.1:${(apiServer.address() as AddressInfo).port}`;

  eksStandIn = await startAwsStandIn((call) => {
    const match = /^\/clusters\/([^/?]+)$/.exec(call.path);
    if (call.method !== "GET" || !match) return undefined;
    return clusterReplies.get(decodeURIComponent(match[1]!))?.shift();
  });
  eks = new EKSClient({
    endpoint: eksStandIn.endpoint,
    region: REGION,
    credentials: FAKE_CREDENTIALS,
    maxAttempts: 1,
  });
});

afterAll(async () => {
  eks.destroy();
  await eksStandIn.close();
  await new Promise<void>((resolve) => apiServer.close(() => resolve()));
  rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  eksStandIn.calls.length = 0;
  clusterReplies.clear();
  apiRequests.length = 0;
});

const active = (name: string, endpoint = apiServerUrl): StandInReply => ({
  status: 200,
  body: { cluster: { name, status: "ACTIVE", endpoint, certificateAuthority: { data: caData } } },
});

let counter = 0;
/** A cluster name unique to the test, since lookups are cached per container (i.e. per test file). */
function clusterWith(...answers: StandInReply[]): string {
  const name = `prenv-host-${++counter}`;
  clusterReplies.set(name, answers);
  return name;
}

const lookups = () => eksStandIn.calls.map((c) => `${c.method} ${c.path}`);

describe("describeCluster", () => {
  it("returns the endpoint and CA, asking EKS once per container", async () => {
    const name = clusterWith(active("x", "https://ABC.gr7.eu-west-1.eks.amazonaws.com"));

    const [a, b] = await Promise.all([describeCluster(eks, name), describeCluster(eks, name)]);
    const c = await describeCluster(eks, name);

    expect(a).toEqual({ endpoint: "https://ABC.gr7.eu-west-1.eks.amazonaws.com", caData });
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(lookups()).toEqual([`GET /clusters/${name}`]);
    expect(eksStandIn.calls[0]!.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDSTANDIN\/\d{8}\/eu-west-1\/eks\//,
    );
  });

  it("does not cache a cluster that has no endpoint yet, and says so", async () => {
    const name = clusterWith(
      { status: 200, body: { cluster: { name: "x", status: "CREATING" } } },
      active("x"),
    );

    const err = await describeCluster(eks, name).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrenvError);
    expect(err).toMatchObject({ code: "CLUSTER_UNREACHABLE" });
    expect((err as Error).message).toContain(
      `'${name}' has no API endpoint or certificate authority yet (status: CREATING)`,
    );

    await expect(describeCluster(eks, name)).resolves.toEqual({ endpoint: apiServerUrl, caData });
    expect(lookups()).toHaveLength(2);
  });

  it.each([
    ["AccessDeniedException", "CLUSTER_FORBIDDEN", 403, /allows eks:DescribeCluster/],
    ["ResourceNotFoundException", "CLUSTER_UNREACHABLE", 404, /Check PRENV_EKS_CLUSTER and AWS_REGION/],
  ])("turns %s into %s and retries next time", async (type, code, status, hint) => {
    const name = clusterWith(
      { status, body: { message: "no" }, headers: { "x-amzn-errortype": type } },
      active("x"),
    );

    const err = await describeCluster(eks, name).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "PrenvError", code });
    expect((err as Error).message).toContain(`(DescribeCluster: ${type})`);
    expect((err as Error).message).toMatch(hint);
    expect((err as Error).cause).toMatchObject({ name: type });

    await expect(describeCluster(eks, name)).resolves.toMatchObject({ endpoint: apiServerUrl });
    expect(lookups()).toHaveLength(2);
  });
});

describe("eksKubeConfig", () => {
  it("makes client-node requests carry a fresh EKS bearer token, over TLS trusted via the cluster CA", async () => {
    const name = clusterWith(active("x"));
    let now = Date.parse("2024-05-06T07:08:09Z");

    const kc = await eksKubeConfig({
      eks,
      clusterName: name,
      region: REGION,
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret", sessionToken: "session" },
      now: () => new Date(now),
    });
    expect(kc.getCurrentCluster()).toMatchObject({ server: apiServerUrl, caData, skipTLSVerify: false });

    const api = kc.makeApiClient(VersionApi);
    await expect(api.getCode()).resolves.toMatchObject({ gitVersion: VERSION.gitVersion });
    now += 13 * 60_000;
    await api.getCode();

    expect(apiRequests.map((r) => r.path)).toEqual(["/version", "/version"]);
    const [first, second] = apiRequests.map((r) => {
      expect(r.authorization).toMatch(/^Bearer k8s-aws-v1\.[A-Za-z0-9_-]+$/);
      return eksTokenUrl(r.authorization!.slice("Bearer ".length));
    });
    expect(first!.host).toBe("sts.eu-west-1.amazonaws.com");
    expect(first!.searchParams.get("X-Amz-SignedHeaders")).toBe("host;x-k8s-aws-id");
    expect(first!.searchParams.get("X-Amz-Security-Token")).toBe("session");
    expect(amzDateMs(first!.searchParams.get("X-Amz-Date")!)).toBe(Date.parse("2024-05-06T07:08:09Z"));
    // Thirteen minutes later the token was replaced.
    expect(amzDateMs(second!.searchParams.get("X-Amz-Date")!)).toBe(now);
    expect(lookups()).toEqual([`GET /clusters/${name}`]);
  });

  it("puts the token on the request context every client-node request (and raw.ts) is sent with", async () => {
    const name = clusterWith(active("x"));
    const kc = await eksKubeConfig({
      eks,
      clusterName: name,
      region: REGION,
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
    });

    const ctx = new RequestContext("https://example.invalid/api", "GET");
    await kc.applySecurityAuthentication(ctx);

    expect(ctx.getHeaders().Authorization).toMatch(/^Bearer k8s-aws-v1\.[A-Za-z0-9_-]+$/);
    // The exported kubeconfig holds no credential.
    expect(kc.exportConfig()).not.toContain("k8s-aws-v1");
  });
});
