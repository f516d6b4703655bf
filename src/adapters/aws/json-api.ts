// The two AWS calls prenv's functions make besides EKS, SQS SendMessage and Secrets Manager
// GetSecretValue, as the AWS JSON protocol defines them: one signed POST (SigV4, the same signer
// the SDK uses) with the operation in X-Amz-Target. The webhook function makes both on every cold
// start, and the SDK's clients (with their default credential chain) would be most of its bundle
// and most of its import time. Credentials come from the composition root: the function's own on
// Lambda (the environment), the SDK's default chain where the bundle has it anyway.
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialIdentity, Provider } from "@smithy/types";

export type AwsCredentials = AwsCredentialIdentity | Provider<AwsCredentialIdentity>;

export interface AwsService {
  /** Signing name and endpoint prefix: `sqs`, `secretsmanager`. */
  name: string;
  /** X-Amz-Target prefix: `AmazonSQS`, `secretsmanager`. */
  targetPrefix: string;
  /** The protocol's content type: `application/x-amz-json-1.0` (SQS) or `-1.1`. */
  contentType: string;
}

export const SQS: AwsService = {
  name: "sqs",
  targetPrefix: "AmazonSQS",
  contentType: "application/x-amz-json-1.0",
};
export const SECRETS_MANAGER: AwsService = {
  name: "secretsmanager",
  targetPrefix: "secretsmanager",
  contentType: "application/x-amz-json-1.1",
};

export interface AwsClientOptions {
  region: string;
  credentials: AwsCredentials;
  /** Another endpoint (ElasticMQ, a stand-in); default: the service's regional endpoint. */
  endpoint?: string | undefined;
  /** Attempts for throttling, 5xx and network errors (default 3). */
  maxAttempts?: number;
  /** Per attempt. */
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** An error AWS answered: `name` is its error code (e.g. `ResourceNotFoundException`). */
export class AwsError extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** One AWS service's JSON API. */
export class AwsJsonClient {
  private readonly signer: SignatureV4;
  private readonly url: URL;

  constructor(
    private readonly service: AwsService,
    private readonly opts: AwsClientOptions,
  ) {
    this.signer = new SignatureV4({
      credentials: opts.credentials,
      region: opts.region,
      service: service.name,
      sha256: Hash.bind(null, "sha256"),
    });
    const suffix = opts.region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
    this.url = new URL(opts.endpoint ?? `https://${service.name}.${opts.region}.${suffix}`);
  }

  /** Calls `operation` (e.g. `SendMessage`) with `input`; retries what AWS says may be retried. */
  async call(operation: string, input: object): Promise<Record<string, unknown>> {
    const attempts = this.opts.maxAttempts ?? 3;
    const sleep = this.opts.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(operation, input);
      } catch (err) {
        if (attempt >= attempts || !retryable(err)) throw err;
        await sleep(100 * 2 ** attempt * (0.5 + Math.random() / 2));
      }
    }
  }

  private async once(operation: string, input: object): Promise<Record<string, unknown>> {
    const body = JSON.stringify(input);
    const signed = await this.signer.sign({
      method: "POST",
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      ...(this.url.port ? { port: Number(this.url.port) } : {}),
      path: this.url.pathname,
      query: {},
      headers: {
        host: this.url.host,
        "content-type": this.service.contentType,
        "x-amz-target": `${this.service.targetPrefix}.${operation}`,
      },
      body,
    });
    const res = await fetch(this.url, {
      method: "POST",
      headers: signed.headers,
      body,
      signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000),
    });
    const text = await res.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      // An answer that is not JSON (a proxy's error page) is reported by its status alone.
    }
    if (res.ok) return parsed;
    // `__type` may carry a namespace ("com.amazonaws.sqs#QueueDoesNotExist").
    const type = typeof parsed.__type === "string" ? parsed.__type.replace(/^.*#/, "") : `HTTP${res.status}`;
    const message = parsed.message ?? parsed.Message;
    throw new AwsError(type, typeof message === "string" ? message : `HTTP ${res.status}`, res.status);
  }
}

const THROTTLING = /Throttl|TooManyRequests|RequestLimitExceeded|SlowDown/;

function retryable(err: unknown): boolean {
  if (err instanceof AwsError) return err.status >= 500 || err.status === 429 || THROTTLING.test(err.name);
  // fetch failed (connection refused, reset, timed out): try again.
  return err instanceof TypeError || (err instanceof Error && err.name === "TimeoutError");
}

/** The function's own credentials as Lambda gives them (and `npm run offline`, dummy ones). */
export function credentialsFrom(keys: {
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  sessionToken: string | undefined;
}): AwsCredentialIdentity {
  if (!keys.accessKeyId || !keys.secretAccessKey) {
    throw new Error(
      "prenv cannot call AWS: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them for the function's role)",
    );
  }
  return {
    accessKeyId: keys.accessKeyId,
    secretAccessKey: keys.secretAccessKey,
    ...(keys.sessionToken ? { sessionToken: keys.sessionToken } : {}),
  };
}
