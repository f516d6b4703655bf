// Publishing reports through the real GitHub adapter against the stand-in: what prenv's comment
// remembers (its Deployments and check runs) replaces listing and looking up, and what a job made
// without recording it is still found when the environment is deleted.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GitHubPullRequest } from "../../src/adapters/github/pull-request.js";
import { blankReport } from "../../src/environment/context.js";
import { readMeta, type CommentMeta, type Report } from "../../src/report/comment.js";
import { publish, type PublishDeps } from "../../src/report/publish.js";
import { loadTemplates } from "../../src/runtime/templates.js";
import { APP_ID } from "../support/app-key.js";
import {
  startGitHubStandIn,
  type CheckRunsModel,
  type DeploymentsModel,
  type GitHubStandIn,
  type IssueCommentsModel,
} from "../support/github-standin.js";
import { INSTALLATION_ID } from "../support/payloads.js";
import { testProbot } from "../support/probot.js";

const ref = { owner: "acme", repo: "web", number: 3, installationId: INSTALLATION_ID };
const SHA1 = "1".repeat(40);
const SHA2 = "2".repeat(40);
const { comment } = loadTemplates();
let standIn: GitHubStandIn;
let failCommentWrites = false;
let comments: IssueCommentsModel;
let deployments: DeploymentsModel;
let checks: CheckRunsModel;

beforeAll(async () => {
  standIn = await startGitHubStandIn({
    faults: ({ method, path }) =>
      failCommentWrites && method !== "GET" && /\/issues\/(\d+\/)?comments/.test(path)
        ? { status: 502, body: { message: "Bad Gateway" } }
        : undefined,
  });
});
afterAll(() => standIn.close());
beforeEach(() => {
  standIn.reset();
  failCommentWrites = false;
  standIn.installationAuth();
  comments = standIn.issueComments(ref.owner, ref.repo, ref.number, {
    expect: { create: { optional: true }, update: { optional: true } },
  });
  deployments = standIn.deployments(ref.owner, ref.repo, {
    expect: { list: { optional: true }, listStatuses: { optional: true }, createStatus: { optional: true } },
  });
  checks = standIn.checkRuns(ref.owner, ref.repo, {
    expect: { update: { optional: true }, listForRef: { optional: true } },
  });
});

/** One job's publishing deps: a fresh adapter, as each job builds its own. */
async function job(): Promise<PublishDeps> {
  const probot = testProbot({ baseUrl: standIn.url });
  const github = new GitHubPullRequest(await probot.auth(INSTALLATION_ID), ref, {
    id: APP_ID,
    botLogin: "prenv[bot]",
  });
  return { github, comment, checkName: "prenv", environment: `pr-${ref.number}` };
}

const report = (kind: Report["kind"], sha: string | null, meta: CommentMeta = {}): Report => ({
  ...blankReport(sha),
  kind,
  meta,
});
const storedMeta = () => readMeta(comments.comments[0]?.body);
const calls = (method: string, route: RegExp) =>
  standIn.calls.filter((c) => c.method === method && route.test(c.path)).length;

describe("publish", () => {
  it("a deploy and the next push name their Deployment and check run from the comment, never listing", async () => {
    await publish(report("deploying", SHA1), await job());
    let deps = await job();
    await publish(report("ready", SHA1, storedMeta()), deps);
    deps = await job();
    await publish(report("deploying", SHA2, storedMeta()), deps);
    await publish(report("ready", SHA2, readMeta(comments.comments[0]!.body)), deps);

    expect(comments.comments).toHaveLength(1);
    expect(deployments.deployments.map((d) => [d.sha, deployments.latestStatus(d.id)?.state])).toEqual([
      [SHA1, "success"],
      [SHA2, "success"],
    ]);
    expect(checks.checkRuns.map((c) => [c.head_sha, c.status, c.conclusion])).toEqual([
      [SHA1, "completed", "success"],
      [SHA2, "completed", "success"],
    ]);
    expect(calls("GET", /\/deployments/)).toBe(0);
    expect(calls("GET", /\/check-runs$/)).toBe(0);
    expect(storedMeta().deployments?.map((d) => d.state)).toEqual(["success", "success"]);
  });

  it("a report the comment already says writes nothing", async () => {
    await publish(report("ready", SHA1), await job());
    const before = standIn.calls.length;
    await publish(report("ready", SHA1, storedMeta()), await job());
    const writes = standIn.calls
      .slice(before)
      .filter((c) => c.method !== "GET" && !c.path.endsWith("/access_tokens"));
    expect(writes).toEqual([]);
  });

  it("a Deployment a job made but could not record is found and made inactive when the environment is deleted", async () => {
    failCommentWrites = true;
    await expect(publish(report("deploying", SHA1), await job())).rejects.toThrow();
    failCommentWrites = false;
    // The next job does not know that Deployment: its comment was never written.
    await publish(report("ready", SHA2), await job());
    expect(storedMeta().deployments?.map((d) => d.sha)).toEqual([SHA2]);
    await publish(report("deleted", null, storedMeta()), await job());

    for (const d of deployments.deployments) expect(deployments.latestStatus(d.id)?.state).toBe("inactive");
    const orphan = checks.checkRuns.find((c) => c.head_sha === SHA1)!;
    expect([orphan.status, orphan.conclusion]).toEqual(["completed", "cancelled"]);
    // Only the Deployment the comment did not know had its state read.
    expect(calls("GET", /\/deployments\/\d+\/statuses/)).toBe(1);
    expect(comments.comments[0]!.body).toContain("deleted");
  });

  it("a deploy left in progress by a cut-short job is superseded, with its check run, by the next commit", async () => {
    await publish(report("deploying", SHA1), await job());
    await publish(report("deploying", SHA2, storedMeta()), await job());
    const [first, second] = deployments.deployments;
    expect(deployments.latestStatus(first!.id)?.state).toBe("inactive");
    expect(deployments.latestStatus(second!.id)?.state).toBe("in_progress");
    const run = checks.checkRuns.find((c) => c.head_sha === SHA1)!;
    expect([run.status, run.conclusion]).toEqual(["completed", "cancelled"]);
    expect(calls("GET", /\/check-runs$/)).toBe(0);
  });

  it("a remembered Deployment someone deleted on GitHub is made again, not a job that fails for ever", async () => {
    await publish(report("deploying", SHA1), await job());
    // Deleted on GitHub (the API lets a repository admin delete an inactive one, or any by hand).
    deployments.deployments.splice(0, 1);
    await publish(report("ready", SHA1, storedMeta()), await job());
    expect(deployments.deployments.map((d) => [d.sha, deployments.latestStatus(d.id)?.state])).toEqual([
      [SHA1, "success"],
    ]);
    expect(storedMeta().deployments).toEqual([
      { id: deployments.deployments[0]!.id, sha: SHA1, state: "success" },
    ]);
    // And the environment's deletion lists what is there, without tripping on it either.
    await publish(report("deleted", null, storedMeta()), await job());
    expect(deployments.latestStatus(deployments.deployments[0]!.id)?.state).toBe("inactive");
  });
});
