// What the Lambda tests share: whether they can run here, the functions' environment against the
// GitHub stand-in and the test cluster, and SQS messages as Lambda's event source hands them over.
import type { SQSEvent } from "aws-lambda";
import { inject } from "vitest";
import type { BatchRecord } from "../../../src/runtime/sqs-batch.js";
import { APP_ID, WEBHOOK_SECRET, appPrivateKey } from "../../support/app-key.js";

/** ElasticMQ (the AWS tier) and the local control plane's prenv-bot context; says why not when absent. */
export function lambdaTestsRun(what: string): boolean {
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
      `${what} skipped: ${!awsAvailable ? "ElasticMQ (AWS tier) is not available" : "it needs the local control plane's prenv-bot kubeconfig context"}`,
    );
  }
  return awsAvailable && local;
}

/** The functions' environment: the jobs queue on ElasticMQ, the App on the stand-in, the bot's context. */
export function lambdaEnv(o: { queueUrl: string; githubUrl: string }): Record<string, string> {
  return {
    PRENV_QUEUE_URL: o.queueUrl,
    PRENV_SQS_ENDPOINT: inject("sqsEndpoint"),
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_REGION: "us-east-1",
    APP_ID: String(APP_ID),
    PRIVATE_KEY: appPrivateKey(),
    WEBHOOK_SECRET,
    PRENV_GITHUB_API_URL: o.githubUrl,
    KUBECONFIG: inject("kubeconfig"),
    KUBE_CONTEXT: "prenv-bot",
    PRENV_BASE_DOMAIN: "preview.test",
    LOG_LEVEL: "silent",
  };
}

/** Received messages as the SQS event a handler gets from `queue` (its name, for the ARN). */
export function sqsEvent(
  records: (BatchRecord & { receiptHandle?: string; md5OfBody?: string })[],
  queue: string,
): SQSEvent {
  return {
    Records: records.map((r) => ({
      messageId: r.messageId,
      receiptHandle: r.receiptHandle ?? "",
      body: r.body,
      attributes: r.attributes,
      messageAttributes: {},
      md5OfBody: r.md5OfBody ?? "",
      eventSource: "aws:sqs",
      eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${queue}`,
      awsRegion: "us-east-1",
    })),
  } as unknown as SQSEvent;
}
