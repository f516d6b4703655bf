// The files a source picked come in one GraphQL request (src/adapters/github/tree.ts), through the
// real Octokit against the stand-in's GraphQL endpoint; what GraphQL cannot give as text (binary
// bytes) comes by REST, intact. Counted from the stand-in's request log.
import { createHash } from "node:crypto";
import { ProbotOctokit } from "probot";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GitHubPullRequest } from "../../src/adapters/github/pull-request.js";
import { BLOBS_PER_QUERY, GitHubTree } from "../../src/adapters/github/tree.js";
import { PrenvError } from "../../src/errors.js";
import { startGitHubStandIn, type GitHubStandIn, type RepoFile } from "../support/github-standin.js";
import { INSTALLATION_ID } from "../support/payloads.js";
import { testProbot } from "../support/probot.js";

const SHA = "abcdef0123456789abcdef0123456789abcdef01";
let standIn: GitHubStandIn;
beforeAll(async () => {
  standIn = await startGitHubStandIn();
});
afterAll(() => standIn.close());
beforeEach(() => standIn.reset());

/** Git's id of a blob with these bytes. */
function blobId(content: string | Uint8Array): string {
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content);
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

function reader(files: Record<string, RepoFile>): GitHubTree {
  standIn.contents("acme", "web", files, SHA, {
    expect: { get: { optional: true }, tree: { optional: true } },
  });
  const octokit = new ProbotOctokit({
    baseUrl: standIn.url,
    retry: { enabled: false },
    throttle: { enabled: false },
  });
  return new GitHubTree(octokit, { owner: "acme", repo: "web" });
}

const requests = () =>
  standIn.calls.map((c) => `${c.method} ${c.path.replace(/\/git\/blobs\/[0-9a-f]+$/, "/git/blobs/…")}`);

describe("reading the files a source picked", () => {
  it("text files in one GraphQL request, byte for byte (UTF-8 included); a binary one by REST", async () => {
    const archive = new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, 0x00, 0x41]);
    const files = {
      "deploy/a.yaml": "kind: ConfigMap\n",
      "deploy/b.yml": "data:\n  greeting: héllo ✓\n",
      "deploy/c.yaml": "",
      "chart/charts/dep-1.0.0.tgz": archive,
    };
    const got = await reader(files).blobs(Object.values(files).map(blobId));
    for (const content of Object.values(files)) {
      const want = typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content);
      expect(Buffer.from(got.get(blobId(content))!)).toEqual(want);
    }
    expect(requests()).toEqual(["POST /graphql", "GET /repos/acme/web/git/blobs/…"]);
  });

  it(`more than ${BLOBS_PER_QUERY} files: one GraphQL request per ${BLOBS_PER_QUERY}`, async () => {
    const files = Object.fromEntries(
      Array.from({ length: BLOBS_PER_QUERY + 10 }, (_, i) => [`deploy/f${i}.yaml`, `n: ${i}\n`]),
    );
    const got = await reader(files).blobs(Object.values(files).map(blobId));
    expect(got.size).toBe(BLOBS_PER_QUERY + 10);
    expect(Buffer.from(got.get(blobId("n: 59\n"))!).toString("utf8")).toBe("n: 59\n");
    expect(requests()).toEqual(["POST /graphql", "POST /graphql"]);
  });

  it("one file: one REST request, as before", async () => {
    const got = await reader({ "deploy/a.yaml": "a: 1\n" }).blobs([blobId("a: 1\n")]);
    expect(Buffer.from(got.get(blobId("a: 1\n"))!).toString("utf8")).toBe("a: 1\n");
    expect(requests()).toEqual(["GET /repos/acme/web/git/blobs/…"]);
  });

  it("a blob the repository does not have is GitHub's 404, not an empty file", async () => {
    const r = reader({ "deploy/a.yaml": "a: 1\n" });
    const missing = "0".repeat(40);
    await expect(r.blobs([blobId("a: 1\n"), missing])).rejects.toThrow(
      /GitHub API 404 failed while trying to read blob 0000000/,
    );
  });

  it("an id that is not a blob id never reaches the query", async () => {
    const r = reader({ "deploy/a.yaml": "a: 1\n" });
    await expect(r.blobs([blobId("a: 1\n"), "HEAD:deploy"])).rejects.toThrow(PrenvError);
    expect(requests()).toEqual([]);
  });

  it("a PR's manifests: the tree, then every file in one request", async () => {
    const files = { "deploy/preview/web.yaml": "kind: Service\n", "deploy/preview/db.yml": "kind: Secret\n" };
    standIn.installationAuth();
    standIn.contents("acme", "web", files, SHA, { expect: { get: { optional: true } } });
    const probot = testProbot({ baseUrl: standIn.url });
    const ref = { owner: "acme", repo: "web", number: 3, installationId: INSTALLATION_ID };
    const github = new GitHubPullRequest(await probot.auth(INSTALLATION_ID), ref);
    const from = standIn.calls.length;
    const read = await github.readFiles(SHA, ["deploy/preview/db.yml", "deploy/preview/web.yaml"]);
    expect(read).toEqual([
      { path: "deploy/preview/db.yml", content: "kind: Secret\n" },
      { path: "deploy/preview/web.yaml", content: "kind: Service\n" },
    ]);
    // (After the installation token, which the first request fetches.)
    expect(requests().slice(from + 1)).toEqual([`GET /repos/acme/web/git/trees/${SHA}`, "POST /graphql"]);
  });
});
