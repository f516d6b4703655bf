// End to end in the AWS shape: a signed webhook through the real webhook Lambda handler, onto a
// real SQS FIFO queue (ElasticMQ), received as an SQS event by the real worker Lambda handler,
// which deploys onto the real API server and comments through the GitHub stand-in.
import { CoreV1Api } from "@kubernetes/client-node";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { describe, expect } from "vitest";
import { namespaceName } from "../../src/environment/naming.js";
import { fifoQueues, receive, sqsClient } from "../aws/sqs-helpers.js";
import { sign } from "../support/app-key.js";
import { startGitHubStandIn } from "../support/github-standin.js";
import { helloPullRequest } from "../support/scenarios.js";
import { clusterTest as test } from "./harness/fixtures.js";
import { lambdaEnv, lambdaTestsRun, sqsEvent } from "./harness/lambda.js";

const SHA = "3333333333333333333333333333333333333333";
const runs = lambdaTestsRun("lambda end-to-end test");

describe.runIf(runs)("Lambda handlers end to end", () => {
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

      Object.assign(process.env, lambdaEnv({ queueUrl: queue.url, githubUrl: standIn.url }));
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
      const event = sqsEvent(
        messages.map((m) => ({
          messageId: m.MessageId!,
          receiptHandle: m.ReceiptHandle!,
          body: m.Body!,
          attributes: m.Attributes ?? {},
          md5OfBody: m.MD5OfBody!,
        })),
        "jobs.fifo",
      );
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
