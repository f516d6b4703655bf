// GitHub's rate limits through the Octokit prenv's App runs (src/runtime/root/github.ts), against
// the GitHub stand-in: a 429 or a secondary limit's 403 is retried after the Retry-After GitHub
// names, a wait longer than a job should sit through fails at once, and writes are not spaced.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GitHubPullRequest } from "../../src/adapters/github/pull-request.js";
import { AppOctokit } from "../../src/runtime/root/github.js";
import { startGitHubStandIn, type GitHubStandIn, type StandInReply } from "../support/github-standin.js";
import { INSTALLATION_ID, pullRequestPayload } from "../support/payloads.js";
import { testProbot } from "../support/probot.js";

const ref = { owner: "acme", repo: "web", number: 1, installationId: INSTALLATION_ID };
let standIn: GitHubStandIn;
/** Replies for the next requests to the pull request (then the route answers), and when each came. */
let faults: StandInReply[] = [];
let arrivals: { path: string; at: number }[] = [];

beforeAll(async () => {
  standIn = await startGitHubStandIn({
    faults: ({ path }) => {
      arrivals.push({ path, at: performance.now() });
      return path.endsWith("/pulls/1") ? faults.shift() : undefined;
    },
  });
});
afterAll(() => standIn.close());
beforeEach(() => {
  standIn.reset();
  faults = [];
  arrivals = [];
  standIn.installationAuth();
  const payload = pullRequestPayload("opened", { ...ref, sha: "a".repeat(40) });
  standIn.pullRequest(payload.pull_request as never, { expect: { files: { optional: true } } });
});

async function adapter(): Promise<GitHubPullRequest> {
  const probot = testProbot({ baseUrl: standIn.url, Octokit: AppOctokit });
  return new GitHubPullRequest(await probot.auth(INSTALLATION_ID), ref);
}

/** Milliseconds between the requests for the pull request. */
const gaps = () => {
  const at = arrivals.filter((a) => a.path.endsWith("/pulls/1")).map((a) => a.at);
  return at.slice(1).map((t, i) => t - at[i]!);
};

describe("GitHub rate limits", () => {
  it("retries a 429 after the seconds its Retry-After names, not sooner", async () => {
    faults = [{ status: 429, headers: { "retry-after": "2" }, body: { message: "Too many requests" } }];
    const github = await adapter();
    expect((await github.getPull())?.number).toBe(1);
    const [gap] = gaps();
    expect(gaps()).toHaveLength(1);
    expect(gap).toBeGreaterThanOrEqual(2000);
    expect(gap).toBeLessThan(3500);
    standIn.verify();
  });

  it("retries a secondary rate limit's 403 after its Retry-After", async () => {
    faults = [
      {
        status: 403,
        headers: { "retry-after": "1" },
        body: {
          message:
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        },
      },
    ];
    const github = await adapter();
    expect((await github.getPull())?.number).toBe(1);
    expect(gaps()).toHaveLength(1);
    expect(gaps()[0]).toBeGreaterThanOrEqual(1000);
    standIn.verify();
  });

  it("fails at once, with GitHub's status, when the wait is longer than a job should sit through", async () => {
    faults = [{ status: 429, headers: { "retry-after": "600" }, body: { message: "Too many requests" } }];
    const github = await adapter();
    const t0 = performance.now();
    await expect(github.getPull()).rejects.toThrow(/GitHub API 429 failed/);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(gaps()).toHaveLength(0);
  });

  it("does not retry a 403 that is no rate limit (a missing permission)", async () => {
    faults = [{ status: 403, body: { message: "Resource not accessible by integration" } }];
    const github = await adapter();
    await expect(github.getPull()).rejects.toThrow(/GitHub API 403 failed/);
    expect(gaps()).toHaveLength(0);
  });

  it("does not space writes a second apart", async () => {
    const comments = standIn.issueComments(ref.owner, ref.repo, ref.number, {
      expect: { create: { times: 3 } },
    });
    const github = await adapter();
    await github.getPull(); // the installation token, first
    const t0 = performance.now();
    for (const n of [1, 2, 3]) await github.createComment(`comment ${n}`);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(comments.comments).toHaveLength(3);
  });
});
