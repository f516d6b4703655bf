// End to end in the AWS shape: a signed webhook through the real webhook Lambda handler, onto a
// real SQS FIFO queue (ElasticMQ), received as an SQS event by the real worker Lambda handler,
// which deploys onto the real API server and comments through the GitHub stand-in.
import { CoreV1Api } from "@kubernetes/client-node";
import type { APIGatewayProxyEventV2, SQSEvent } from "aws-lambda";
import { describe, expect, inject } from "vitest";
import { namespaceName } from "../../src/environment/naming.js";
import { fifoQueues, receive, sqsClient } from "../aws/sqs-helpers.js";
import { APP_ID, WEBHOOK_SECRET, appPrivateKey, sign } from "../support/app-key.js";
import { startGitHubStandIn } from "../support/github-standin.js";
import { helloPullRequest } from "../support/scenarios.js";
import { clusterTest as test } from "./harness/fixtures.js";

const SHA = "3333333333333333333333333333333333333333";
const awsAvailable = (() => {
  try {
    return Boolean(inject("sqsEndpoint"));
  } catch {
    return false;
  }
})();
const local = inject("clusterMode") === "local";
if (!awsAvailable || !local) {
  console.warn(
    `lambda end-to-end test skipped: ${!awsAvailable ? "ElasticMQ (AWS tier) is not available" : "it needs the local control plane's prenv-bot kubeconfig context"}`,
  );
}

describe.runIf(awsAvailable && local)("Lambda handlers end to end", () => {
  test("signed webhook → webhook Lambda → SQS FIFO → worker Lambda → namespace on the cluster and a PR comment", async ({
    admin,
  }) => {
    const sqs = sqsClient();
    const queue = await fifoQueues(sqs);
    const standIn = await startGitHubStandIn();
    const owner = "acme";
    const repo = `lambda-${process.pid}`;
    const ns = namespaceName({ owner, repo, pr: 5 });
    const savedEnv = { ...process.env };
    try {
      const { opened, comments } = helloPullRequest(standIn, { owner, repo, number: 5, sha: SHA });

      Object.assign(process.env, {
        PRENV_QUEUE_URL: queue.url,
        PRENV_SQS_ENDPOINT: inject("sqsEndpoint"),
        AWS_ACCESS_KEY_ID: "test",
        AWS_SECRET_ACCESS_KEY: "test",
        AWS_REGION: "us-east-1",
        APP_ID: String(APP_ID),
        PRIVATE_KEY: appPrivateKey(),
        WEBHOOK_SECRET,
        PRENV_GITHUB_API_URL: standIn.url,
        KUBECONFIG: inject("kubeconfig"),
        KUBE_CONTEXT: "prenv-bot",
        PRENV_BASE_DOMAIN: "preview.test",
        LOG_LEVEL: "silent",
      });
      const webhook = await import("../../src/lambda/webhook.js");
      const worker = await import("../../src/lambda/worker.js");

      const body = JSON.stringify(opened);
      const res = await webhook.handler({
        headers: {
          "x-github-event": "pull_request",
          "x-github-delivery": "lambda-e2e-1",
          "x-hub-signature-256": sign(body),
        },
        body,
        isBase64Encoded: false,
      } as unknown as APIGatewayProxyEventV2);
      expect(res.statusCode).toBe(202);

      const messages = await receive(sqs, queue.url);
      expect(messages).toHaveLength(1);
      const event = {
        Records: messages.map((m) => ({
          messageId: m.MessageId!,
          receiptHandle: m.ReceiptHandle!,
          body: m.Body!,
          attributes: m.Attributes,
          messageAttributes: {},
          md5OfBody: m.MD5OfBody!,
          eventSource: "aws:sqs",
          eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:jobs.fifo",
          awsRegion: "us-east-1",
        })),
      } as unknown as SQSEvent;
      const batch = await worker.handler(event);
      expect(batch).toEqual({ batchItemFailures: [] });

      const cm = await admin
        .makeApiClient(CoreV1Api)
        .readNamespacedConfigMap({ name: "hello", namespace: ns });
      expect(cm.data).toEqual({ pr: "5" });
      expect(comments.comments).toHaveLength(1);
      expect(comments.comments[0]!.body).toContain("ready");
      standIn.verify();
    } finally {
      process.env = savedEnv;
      await standIn.close();
      await admin
        .makeApiClient(CoreV1Api)
        .deleteNamespace({ name: ns })
        .catch(() => undefined);
    }
  });
});
