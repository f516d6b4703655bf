// The approval rule (src/environment/approval.ts): who deploys on their own, who waits for
// `/env deploy <sha>`, and which `/env deploy` approves what.
import { describe, expect, it } from "vitest";
import { approveCommit, trustOf } from "../../../src/environment/approval.js";
import type { RepoRole } from "../../../src/environment/ports.js";

const HEAD = "3f2a9c1d".padEnd(40, "0");
const OLD = "1111111".padEnd(40, "1");

describe("trustOf", () => {
  it.each<[string, boolean, RepoRole | null, "approve" | "never", string | undefined, string]>([
    ["an author with write access, same repository", true, "write", "approve", undefined, "trusted"],
    ["maintain counts as write", true, "maintain", "approve", undefined, "trusted"],
    ["admin counts as write", true, "admin", "never", undefined, "trusted"],
    ["triage does not", true, "triage", "approve", undefined, "awaiting"],
    ["read does not", true, "read", "approve", undefined, "awaiting"],
    ["a fork waits for approval", false, null, "approve", undefined, "awaiting"],
    ["a fork whose head commit was approved", false, null, "approve", HEAD, "trusted"],
    ["a fork after a push: the approval named the old commit", false, null, "approve", OLD, "awaiting"],
    ["forks: never refuses a fork, approved or not", false, null, "never", HEAD, "refused"],
    ["forks: never refuses an author without write access", true, "read", "never", undefined, "refused"],
  ])("%s", (_name, sameRepo, authorRole, forks, approvedSha, kind) => {
    expect(trustOf({ sameRepo, authorRole, forks, headSha: HEAD, approvedSha }).kind).toBe(kind);
  });

  it("says why: a fork, or an author without write access", () => {
    expect(
      trustOf({ sameRepo: false, authorRole: null, forks: "approve", headSha: HEAD, approvedSha: undefined }),
    ).toEqual({
      kind: "awaiting",
      why: "comes from a fork",
    });
    expect(
      trustOf({ sameRepo: true, authorRole: "none", forks: "never", headSha: HEAD, approvedSha: undefined }),
    ).toEqual({
      kind: "refused",
      why: "was opened by an author without write access",
    });
  });
});

describe("approveCommit (/env deploy <sha>)", () => {
  it.each<[string, string | null, string | null, string | undefined, boolean, RegExp | null]>([
    [
      "the head prenv showed, by its 12-character prefix",
      HEAD,
      HEAD.slice(0, 12),
      HEAD,
      true,
      /Approved commit 3f2a9c1/,
    ],
    ["the head prenv showed, by 7 characters", HEAD, HEAD.slice(0, 7), HEAD, true, /Approved/],
    [
      "a bare /env deploy approves nothing and names the exact command",
      HEAD,
      null,
      HEAD,
      false,
      /must name the commit.*`\/env deploy 3f2a9c1d0000`/,
    ],
    ["another commit", HEAD, OLD.slice(0, 12), HEAD, false, /is not the head of this pull request/],
    [
      "the head, but prenv has not shown it for approval (a push since)",
      HEAD,
      HEAD.slice(0, 12),
      OLD,
      false,
      /has not shown for approval/,
    ],
    [
      "the head, and prenv never asked",
      HEAD,
      HEAD.slice(0, 12),
      undefined,
      false,
      /has not shown for approval/,
    ],
    ["no pull request: nothing, silently", null, HEAD, HEAD, false, null],
  ])("%s", (_name, head, named, awaitingSha, approved, reply) => {
    const decision = approveCommit(head, named, awaitingSha ? { awaitingSha } : {});
    expect(decision.approved).toBe(approved);
    if (reply) expect(decision.reply).toMatch(reply);
    else expect(decision.reply).toBeNull();
  });
});
