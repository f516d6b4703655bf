// Each Lambda function can read only its own secret: the internet-facing webhook function the
// webhook secret, the worker and the janitor the App's private key, the kubeconfig function the
// App's OAuth client credentials. Proven twice: in serverless.yml (each role's IAM policy and each
// function's environment, as deployed) and at run time (the real handlers, with the real Secrets
// Manager client against a stand-in endpoint that records every secret asked for).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { APP_ID, WEBHOOK_SECRET, appPrivateKey, sign } from "../../support/app-key.js";
import { FAKE_CREDENTIALS, startAwsStandIn, type AwsStandIn } from "./aws-standin.js";

const root = join(import.meta.dirname, "../../..");
// CloudFormation's short tags (!Ref, !Sub, ...) are dropped: their values stay as written.
const stack = parse(readFileSync(join(root, "serverless.yml"), "utf8"), { logLevel: "silent" }) as {
  params: { default: Record<string, string> };
  provider: { environment: Record<string, unknown> };
  functions: Record<string, { role: string; environment?: Record<string, string> }>;
  resources: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
};

/** `${param:x}` with the params' own defaults, at stage "ci". */
function resolve(value: string): string {
  return value.replace(/\$\{param:(\w+)\}/g, (_, name: string) => {
    const fallback = /, '([^']*)'\}$/.exec(stack.params.default[name] ?? "")?.[1];
    if (fallback === undefined) throw new Error(`param ${name} has no default`);
    return fallback.replace("${sls:stage}", "ci");
  });
}

const SECRETS = {
  webhook: "prenv/ci/webhook",
  app: "prenv/ci/github-app",
  kubeconfig: "prenv/ci/kubeconfig",
};
const WHOSE: Record<string, string> = {
  webhook: SECRETS.webhook,
  worker: SECRETS.app,
  janitor: SECRETS.app,
  kubeconfig: SECRETS.kubeconfig,
};
const SECRET_ID_VARIABLES = ["PRENV_SECRET_ID", "PRENV_WEBHOOK_SECRET_ID", "PRENV_KUBECONFIG_SECRET_ID"];

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
}

function statementsOf(role: string): Statement[] {
  const policies = stack.resources.Resources[role]!.Properties.Policies as {
    PolicyDocument: { Statement: Statement[] };
  }[];
  return policies.flatMap((p) => p.PolicyDocument.Statement);
}

describe("serverless.yml", () => {
  it.each(Object.keys(WHOSE))("lets the %s function's role read its own secret and no other", (fn) => {
    const statements = statementsOf(stack.functions[fn]!.role);
    const secretReads = statements.filter((s) =>
      [s.Action].flat().some((a) => a.startsWith("secretsmanager:")),
    );
    expect(secretReads.flatMap((s) => [s.Action].flat())).toEqual(["secretsmanager:GetSecretValue"]);
    const resources = secretReads.flatMap((s) => [s.Resource].flat()).map(resolve);
    expect(resources).toEqual([
      `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${WHOSE[fn]}-??????`,
    ]);
  });

  it("names each function's own secret in its own environment, and no secret for all of them", () => {
    for (const name of SECRET_ID_VARIABLES) expect(stack.provider.environment).not.toHaveProperty(name);
    const named = Object.fromEntries(
      Object.entries(stack.functions).map(([fn, f]) => [
        fn,
        Object.entries(f.environment ?? {})
          .filter(([k]) => SECRET_ID_VARIABLES.includes(k))
          .map(([k, v]) => `${k}=${resolve(v)}`),
      ]),
    );
    expect(named).toEqual({
      webhook: [`PRENV_WEBHOOK_SECRET_ID=${SECRETS.webhook}`],
      worker: [`PRENV_SECRET_ID=${SECRETS.app}`],
      kubeconfig: [`PRENV_KUBECONFIG_SECRET_ID=${SECRETS.kubeconfig}`],
      janitor: [`PRENV_SECRET_ID=${SECRETS.app}`],
      relay: [],
    });
  });

  it("gives the relay function (delay queue to jobs queue) no secret at all", () => {
    const statements = statementsOf(stack.functions.relay!.role);
    expect(statements.filter((s) => [s.Action].flat().some((a) => a.startsWith("secretsmanager:")))).toEqual(
      [],
    );
  });

  it("maps the kubeconfig function to its own Kubernetes group, the worker and janitor to prenv-bot, the webhook to none", () => {
    const entries = Object.values(stack.resources.Resources)
      .filter((r) => r.Type === "AWS::EKS::AccessEntry")
      .map((r) => [r.Properties.PrincipalArn, r.Properties.KubernetesGroups]);
    // !GetAtt dropped its tag: the value is "<Role>.Arn".
    expect(Object.fromEntries(entries.map(([arn, groups]) => [String(arn), groups]))).toEqual({
      "WorkerRole.Arn": ["prenv-bot"],
      "JanitorRole.Arn": ["prenv-bot"],
      "KubeconfigRole.Arn": ["prenv-kubeconfig"],
    });
  });
});

describe("the functions at run time", () => {
  let standIn: AwsStandIn;
  const values: Record<string, Record<string, string>> = {
    [SECRETS.webhook]: { WEBHOOK_SECRET, APP_ID: String(APP_ID) },
    [SECRETS.app]: { APP_ID: String(APP_ID), PRIVATE_KEY: appPrivateKey() },
    [SECRETS.kubeconfig]: { GITHUB_CLIENT_ID: "Iv23ci0000", GITHUB_CLIENT_SECRET: "ci-client-secret" },
  };
  const saved = { ...process.env };

  beforeAll(async () => {
    standIn = await startAwsStandIn((call) => {
      if (call.headers["x-amz-target"] !== "secretsmanager.GetSecretValue") return undefined;
      const { SecretId } = JSON.parse(call.body) as { SecretId: string };
      const secret = values[SecretId];
      return secret
        ? { status: 200, body: { Name: SecretId, SecretString: JSON.stringify(secret) } }
        : { status: 400, body: { __type: "ResourceNotFoundException", message: "not found" } };
    });
    // What every function gets from provider.environment, without any secret's values.
    for (const key of [
      "APP_ID",
      "PRIVATE_KEY",
      "WEBHOOK_SECRET",
      "GITHUB_CLIENT_ID",
      "GITHUB_CLIENT_SECRET",
    ]) {
      delete process.env[key];
    }
    Object.assign(process.env, {
      AWS_REGION: "eu-west-1",
      AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: standIn.endpoint,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      PRENV_QUEUE_URL: "http://127.0.0.1:9/000000000000/prenv-jobs-ci.fifo",
      LOG_LEVEL: "silent",
    });
  });
  afterAll(async () => {
    process.env = saved;
    await standIn.close();
  });

  /** Runs `body` with `fn`'s own environment from serverless.yml; answers the secrets it asked for. */
  async function asFunction(fn: string, body: () => Promise<void>): Promise<string[]> {
    const own = Object.entries(stack.functions[fn]!.environment ?? {}).map(([k, v]) => [k, resolve(v)]);
    for (const name of SECRET_ID_VARIABLES) delete process.env[name];
    Object.assign(process.env, Object.fromEntries(own));
    const before = standIn.calls.length;
    await body();
    return standIn.calls.slice(before).map((c) => (JSON.parse(c.body) as { SecretId: string }).SecretId);
  }

  it("the webhook function reads the webhook secret only, and verifies deliveries with it", async () => {
    const { handler } = await import("../../../src/lambda/webhook.js");
    const body = JSON.stringify({ zen: "Keep it logically awesome." });
    let status = 0;
    const asked = await asFunction("webhook", async () => {
      const res = await handler({
        headers: { "x-github-event": "ping", "x-github-delivery": "d-1", "x-hub-signature-256": sign(body) },
        body,
        isBase64Encoded: false,
      } as unknown as APIGatewayProxyEventV2);
      status = res.statusCode ?? 0;
    });
    expect(status).toBe(202);
    expect(asked).toEqual([SECRETS.webhook]);
  });

  it("the kubeconfig function reads its client credentials only", async () => {
    const { handler } = await import("../../../src/lambda/kubeconfig.js");
    let answer = "";
    const asked = await asFunction("kubeconfig", async () => {
      const res = await handler({
        rawPath: "/api/kubeconfig/login",
        rawQueryString: "",
        headers: {},
        requestContext: { http: { method: "GET" } },
      } as unknown as APIGatewayProxyEventV2);
      answer = String(res.body);
    });
    expect(JSON.parse(answer)).toEqual({ client_id: "Iv23ci0000", github_url: "https://github.com" });
    expect(answer).not.toContain("ci-client-secret");
    expect(asked).toEqual([SECRETS.kubeconfig]);
  });

  it("the worker and the janitor read the App's private key", async () => {
    const { botRoot } = await import("../../../src/runtime/root/bot.js");
    const asked = await asFunction("worker", async () => {
      const rt = await botRoot();
      expect(rt.settings.appId).toBe(APP_ID);
    });
    expect(asked).toEqual([SECRETS.app]);
  });
});
