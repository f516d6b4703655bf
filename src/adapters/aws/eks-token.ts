// Talking to the EKS host cluster from Lambda without kubectl or aws-iam-authenticator.
//
// An EKS bearer token is a presigned STS GetCallerIdentity URL: the API server hands it to STS,
// which answers with the caller's IAM identity. The cluster name travels in the signed
// `x-k8s-aws-id` header, so a token minted for one cluster is refused by every other. STS honours
// such a request for 15 minutes after its `X-Amz-Date` whatever `X-Amz-Expires` says (we send 60,
// as `aws eks get-token` does), and never past the expiry of the credentials that signed it. So a
// token is used for at most 14 minutes (less if the credentials expire sooner) and the cache
// replaces it one minute before that.
import { DescribeClusterCommand, type EKSClient } from "@aws-sdk/client-eks";
import { KubeConfig, type RequestContext } from "@kubernetes/client-node";
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { PrenvError } from "../../errors.js";
import type { AwsCredentials } from "./json-api.js";

export const EKS_TOKEN_PREFIX = "k8s-aws-v1.";
/** The header that binds a token to one cluster; it must be among the signed headers. */
export const CLUSTER_ID_HEADER = "x-k8s-aws-id";
/** `X-Amz-Expires` of the presigned URL, as `aws eks get-token` sets it (STS applies its own 15 minutes). */
const PRESIGNED_URL_SECONDS = 60;
/** How long prenv uses a token: EKS accepts one for 15 minutes; stop a minute short of that. */
export const EKS_TOKEN_LIFETIME_MS = 14 * 60_000;
/** A cached token is replaced this long before its `expiresAt`. */
export const EKS_TOKEN_REFRESH_MARGIN_MS = 60_000;

export type { AwsCredentials } from "./json-api.js";

export interface EksTokenOptions {
  clusterName: string;
  region: string;
  /** Static credentials or a provider such as `defaultProvider()` from `@aws-sdk/credential-provider-node`. */
  credentials: AwsCredentials;
  /** Signing clock; injectable for tests. */
  now?: () => Date;
}

export interface EksToken {
  /** `k8s-aws-v1.` + base64url (unpadded) of the presigned URL. A bearer credential: never log it. */
  token: string;
  /** When prenv stops using the token. */
  expiresAt: Date;
}

/** The regional STS host EKS expects the presigned URL to point at. */
export function stsHost(region: string): string {
  const suffix = region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  return `sts.${region}.${suffix}`;
}

/** Mints an EKS bearer token for `clusterName` from AWS credentials. */
export async function createEksToken(opts: EksTokenOptions): Promise<EksToken> {
  if (!opts.clusterName) throw new Error("createEksToken: clusterName is empty");
  if (!opts.region) throw new Error("createEksToken: region is empty (set AWS_REGION)");
  const signedAt = (opts.now ?? (() => new Date()))();
  // Resolved once so the expiry of the very credentials that sign can cap the token's lifetime.
  const credentials = typeof opts.credentials === "function" ? await opts.credentials() : opts.credentials;
  const host = stsHost(opts.region);
  const signer = new SignatureV4({
    credentials,
    region: opts.region,
    service: "sts",
    sha256: Hash.bind(null, "sha256"),
  });
  const request = new HttpRequest({
    method: "GET",
    protocol: "https:",
    hostname: host,
    path: "/",
    query: { Action: "GetCallerIdentity", Version: "2011-06-15" },
    // Both stay headers (only `x-amz-*` is hoisted into the query), so both are signed.
    headers: { host, [CLUSTER_ID_HEADER]: opts.clusterName },
  });
  const signed = await signer.presign(request, { signingDate: signedAt, expiresIn: PRESIGNED_URL_SECONDS });
  const url = `https://${host}/?${queryString(signed.query ?? {})}`;
  const lifetimeEnd = signedAt.getTime() + EKS_TOKEN_LIFETIME_MS;
  const credentialsEnd = credentials.expiration?.getTime() ?? Number.POSITIVE_INFINITY;
  return {
    token: EKS_TOKEN_PREFIX + Buffer.from(url, "utf8").toString("base64url"),
    expiresAt: new Date(Math.min(lifetimeEnd, credentialsEnd)),
  };
}

/** RFC 3986 encoding, the form SigV4 canonicalises to, so the URL carries exactly what was signed. */
function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function queryString(query: Record<string, string | string[] | null>): string {
  return Object.keys(query)
    .sort()
    .flatMap((key) => {
      const value = query[key];
      const values = value === null || value === undefined ? [] : Array.isArray(value) ? value : [value];
      return values.map((v) => `${rfc3986(key)}=${rfc3986(v)}`);
    })
    .join("&");
}

/**
 * Hands out one EKS token until a minute before it expires, then mints a new one. Concurrent
 * callers share one minting; a failed minting is not remembered.
 */
export class EksTokenCache {
  private current: EksToken | undefined;
  private pending: Promise<EksToken> | undefined;
  private readonly now: () => Date;

  constructor(private readonly options: EksTokenOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async token(): Promise<string> {
    const current = this.current;
    if (current && this.now().getTime() < current.expiresAt.getTime() - EKS_TOKEN_REFRESH_MARGIN_MS) {
      return current.token;
    }
    return (await this.refresh()).token;
  }

  private refresh(): Promise<EksToken> {
    this.pending ??= createEksToken(this.options).then(
      (token) => {
        this.current = token;
        this.pending = undefined;
        return token;
      },
      (err: unknown) => {
        this.pending = undefined;
        throw err;
      },
    );
    return this.pending;
  }
}

export interface EksCluster {
  /** The API server URL, `https://…`. */
  endpoint: string;
  /** The cluster CA bundle, base64 PEM, as a kubeconfig's `certificate-authority-data`. */
  caData: string;
}

// One DescribeCluster per cluster per Lambda container; a failed lookup is retried next time.
const clusters = new Map<string, Promise<EksCluster>>();

/** The API endpoint and CA of an EKS cluster, looked up once per container. */
export function describeCluster(client: EKSClient, name: string): Promise<EksCluster> {
  const cached = clusters.get(name);
  if (cached) return cached;
  const lookup = lookUpCluster(client, name);
  clusters.set(name, lookup);
  lookup.catch(() => {
    if (clusters.get(name) === lookup) clusters.delete(name);
  });
  return lookup;
}

async function lookUpCluster(client: EKSClient, name: string): Promise<EksCluster> {
  let cluster;
  try {
    ({ cluster } = await client.send(new DescribeClusterCommand({ name })));
  } catch (err) {
    const kind = err instanceof Error ? err.name : "unknown error";
    const denied = kind === "AccessDeniedException";
    throw new PrenvError(
      denied ? "CLUSTER_FORBIDDEN" : "CLUSTER_UNREACHABLE",
      `Could not look up the EKS host cluster '${name}' (DescribeCluster: ${kind}). ` +
        (denied
          ? "Check that the function's IAM role allows eks:DescribeCluster on it."
          : "Check PRENV_EKS_CLUSTER and AWS_REGION."),
      { cause: err },
    );
  }
  const endpoint = cluster?.endpoint;
  const caData = cluster?.certificateAuthority?.data;
  if (!endpoint || !caData) {
    throw new PrenvError(
      "CLUSTER_UNREACHABLE",
      `The EKS host cluster '${name}' has no API endpoint or certificate authority yet ` +
        `(status: ${cluster?.status ?? "unknown"}).`,
    );
  }
  return { endpoint, caData };
}

/**
 * A KubeConfig for an EKS cluster whose requests carry a fresh `Authorization: Bearer k8s-aws-v1.…`
 * from `tokens`. Nothing secret is stored in the config itself, so exporting it leaks no token.
 */
export class EksKubeConfig extends KubeConfig {
  private readonly tokens: EksTokenCache;

  constructor(cluster: EksCluster & { name: string }, tokens: EksTokenCache) {
    super();
    this.tokens = tokens;
    const user = `${cluster.name}-iam`;
    this.loadFromOptions({
      clusters: [
        { name: cluster.name, server: cluster.endpoint, caData: cluster.caData, skipTLSVerify: false },
      ],
      users: [{ name: user }],
      contexts: [{ name: cluster.name, cluster: cluster.name, user }],
      currentContext: cluster.name,
    });
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    context.setHeaderParam("Authorization", `Bearer ${await this.tokens.token()}`);
  }
}

export interface EksKubeConfigOptions extends EksTokenOptions {
  eks: EKSClient;
}

/** The KubeConfig prenv uses on Lambda: endpoint and CA from DescribeCluster, IAM tokens from STS presigning. */
export async function eksKubeConfig(opts: EksKubeConfigOptions): Promise<EksKubeConfig> {
  const { eks, ...tokenOptions } = opts;
  const cluster = await describeCluster(eks, opts.clusterName);
  return new EksKubeConfig({ name: opts.clusterName, ...cluster }, new EksTokenCache(tokenOptions));
}
