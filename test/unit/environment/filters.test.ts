import { describe, expect, it } from "vitest";
import { parseRepoConfig } from "../../../src/config/parse.js";
import { eligibility } from "../../../src/environment/filters.js";
import type { PullRequest } from "../../../src/environment/ports.js";

const pr: PullRequest = {
  number: 1,
  state: "open",
  merged: false,
  draft: false,
  headSha: "a".repeat(40),
  headRef: "feature",
  baseRef: "main",
  headRepoFullName: "acme/web",
  labels: ["preview"],
  author: "octocat",
  repoId: 1,
  htmlUrl: "https://example.invalid/pr/1",
};

function config(filters: Record<string, unknown>) {
  const r = parseRepoConfig({ filters });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

const noFiles = () =>
  Promise.reject(new Error("changed files must not be listed when filters.paths is empty"));

describe("eligibility", () => {
  it.each<[string, Partial<PullRequest>, Record<string, unknown>, boolean, RegExp?]>([
    ["an open PR with no filters", {}, {}, true],
    ["a draft by default", { draft: true }, {}, false, /draft/],
    ["a draft with drafts: true", { draft: true }, { drafts: true }, true],
    ["a base branch matching a glob", { baseRef: "release/1.2" }, { branches: ["main", "release/*"] }, true],
    [
      "a base branch matching no glob",
      { baseRef: "dev" },
      { branches: ["main", "release/*"] },
      false,
      /base branch/,
    ],
    ["a PR with one of the labels", {}, { labels: ["other", "preview"] }, true],
    ["a PR without any of the labels", { labels: [] }, { labels: ["preview"] }, false, /"preview"/],
  ])("%s", async (_name, over, filters, ok, reason) => {
    const result = await eligibility({ ...pr, ...over }, config(filters), noFiles);
    expect(result.ok).toBe(ok);
    if (!result.ok && reason) expect(result.reason).toMatch(reason);
  });

  it("lists changed files only for filters.paths, and needs one to match", async () => {
    const cfg = config({ paths: ["src/**", "Dockerfile"] });
    expect((await eligibility(pr, cfg, () => Promise.resolve(["docs/a.md", "src/app/main.ts"]))).ok).toBe(
      true,
    );
    const no = await eligibility(pr, cfg, () => Promise.resolve(["docs/a.md"]));
    expect(no).toEqual({ ok: false, reason: expect.stringMatching(/filters.paths/) as unknown });
  });
});
