// Follow-up jobs end to end in the AWS shape: the real webhook, worker and relay Lambda handlers on
// real SQS semantics (ElasticMQ) and the real API server. The deploy applies a Deployment that
// cannot become ready (its image is nowhere) and returns; its follow-ups wait in the standard delay
// queue, the relay puts each due one into the PR's group of the FIFO queue, the worker looks again,
// until the rollout timeout passes and the PR is told, as when the deploy waited itself.
import { CoreV1Api } from "@kubernetes/client-node";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { describe, expect } from "vitest";
import { namespaceName } from "../../src/environment/naming.js";
import type { ReconcileJob } from "../../src/jobs/job.js";
import { delayQueue, fifoQueues, pollOnce, sqsClient } from "../aws/sqs-helpers.js";
import { sign } from "../support/app-key.js";
import { startGitHubStandIn } from "../support/github-standin.js";
import { helloPullRequest } from "../support/scenarios.js";
import { clusterTest as test } from "./harness/fixtures.js";
import { lambdaEnv, lambdaTestsRun, sqsEvent } from "./harness/lambda.js";
import { app } from "./harness/workloads.js";

const SHA = "4444444444444444444444444444444444444444";
const runs = lambdaTestsRun("lambda follow-up test");

describe.runIf(runs)("follow-up jobs through the Lambda handlers", () => {
  test("deploy returns; worker → delay queue → relay → the PR's FIFO group → worker, until the rollout times out and the PR is told", async ({
    admin,
  }) => {
    const sqs = sqsClient();
    const jobs = await fifoQueues(sqs);
    const later = await delayQueue(sqs);
    const standIn = await startGitHubStandIn();
    const owner = "acme";
    const repo = `follow-${process.pid}`;
    const ns = namespaceName({ owner, repo, pr: 6 });
    const savedEnv = { ...process.env };
    try {
      const files = { "deploy/preview/web.yaml": app({ image: "prenv.test/nowhere:1" }) };
      const { opened, comments } = helloPullRequest(standIn, { owner, repo, number: 6, sha: SHA }, files);
      Object.assign(process.env, lambdaEnv({ queueUrl: jobs.url, githubUrl: standIn.url }), {
        PRENV_DELAY_QUEUE_URL: later,
        PRENV_ROUTING: "ingress",
        PRENV_READY_CHECK: "rollout",
        PRENV_ROLLOUT_TIMEOUT_SECONDS: "4",
        PRENV_ROLLOUT_CHECK_SECONDS: "1",
      });
      const webhook = await import("../../src/lambda/webhook.js");
      const worker = await import("../../src/lambda/worker.js");
      const relay = await import("../../src/lambda/relay.js");

      const body = JSON.stringify(opened);
      const res = await webhook.handler({
        headers: {
          "x-github-event": "pull_request",
          "x-github-delivery": "follow-ups-1",
          "x-hub-signature-256": sign(body),
        },
        body,
        isBase64Encoded: false,
      } as unknown as APIGatewayProxyEventV2);
      expect(res.statusCode).toBe(202);

      const ran: ReconcileJob[] = [];
      let relayed = 0;
      const told = () => comments.comments[0]?.body.includes("Not ready after 4 s") ?? false;
      const deadline = Date.now() + 40_000;
      while (!told() && Date.now() < deadline) {
        await pollOnce(sqs, jobs.url, async (records) => {
          ran.push(...records.map((r) => JSON.parse(r.body) as ReconcileJob));
          return worker.handler(sqsEvent(records, "jobs.fifo"));
        });
        relayed += await pollOnce(sqs, later, (records) => relay.handler(sqsEvent(records, "later")));
        await new Promise((r) => setTimeout(r, 200));
      }

      expect(told()).toBe(true);
      // The deploy, then only follow-ups of this commit, each come back through the relay.
      expect(ran[0]?.reason).toBe("pull_request.opened");
      expect(ran.length).toBeGreaterThanOrEqual(3);
      expect(ran.slice(1).every((j) => j.reason === "rollout.check" && j.check?.sha === SHA)).toBe(true);
      expect(ran.slice(1).map((j) => j.check?.attempt)).toEqual(ran.slice(1).map((_, i) => i + 1));
      expect(relayed).toBe(ran.length - 1);
      const nsObj = await admin.makeApiClient(CoreV1Api).readNamespace({ name: ns });
      expect(nsObj.metadata?.annotations?.["prenv.dev/state"]).toBe("failed");
      expect(comments.comments).toHaveLength(1);
      expect(comments.comments[0]!.body).toContain("Deployment/web");
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
