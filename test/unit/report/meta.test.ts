// The comment's hidden state: what prenv remembers about its Deployments and check runs survives the
// round trip through the comment, malformed entries are dropped, and the line does not depend on
// the order a job set the keys in.
import { describe, expect, it } from "vitest";
import {
  COMMENT_MARKER,
  readMeta,
  renderComment,
  withMeta,
  type CommentMeta,
  type Report,
} from "../../../src/report/comment.js";
import { loadTemplates } from "../../../src/runtime/templates.js";

const { comment } = loadTemplates();
const SHA = "a".repeat(40);
const report = (meta: CommentMeta): Report => ({
  kind: "ready",
  sha: SHA,
  url: null,
  namespace: null,
  expiresAt: null,
  detail: null,
  detailMarkdown: null,
  problems: [],
  failure: null,
  meta,
});

describe("comment meta", () => {
  it("round-trips the remembered Deployments and check runs", () => {
    const meta: CommentMeta = {
      approvedSha: SHA,
      deployments: [{ id: 7, sha: SHA, state: "success" }],
      checks: [{ sha: SHA, id: 9, done: true, digest: "0123456789ab" }],
    };
    expect(readMeta(renderComment(comment, report(meta)))).toEqual(meta);
  });

  it("drops malformed entries and keeps at most five of each", () => {
    const many = Array.from({ length: 7 }, (_, i) => ({ id: i, sha: SHA, state: "success" }));
    const line = JSON.stringify({
      deployments: [...many, { id: "x", sha: SHA, state: "success" }, { id: 1, sha: "nope", state: null }],
      checks: [
        { sha: SHA, id: 1, done: "yes", digest: "d" },
        { sha: SHA, id: 2, done: false, digest: "d" },
      ],
    });
    const meta = readMeta(`<!-- prenv:environment -->\n<!-- prenv:meta ${line} -->\n`);
    expect(meta.deployments?.map((d) => d.id)).toEqual([2, 3, 4, 5, 6]);
    expect(meta.checks).toEqual([{ sha: SHA, id: 2, done: false, digest: "d" }]);
  });

  it("writes the same line whatever order the keys were set in", () => {
    const a = renderComment(
      comment,
      report({ awaitingSha: SHA, deployments: [{ id: 1, sha: SHA, state: null }] }),
    );
    const b = renderComment(
      comment,
      report({ deployments: [{ id: 1, sha: SHA, state: null }], awaitingSha: SHA }),
    );
    expect(a).toBe(b);
  });
});

// Rewritten alone when what the comment shows must stay as it is (a failed environment put to sleep).
const SHOWN = "### ❌ Preview deployment failed\n\n| State | failed |\n";

describe("withMeta", () => {
  it("replaces the hidden state line and keeps every other line", () => {
    const before = `${COMMENT_MARKER}\n<!-- prenv:meta {"commandTimes":[1]} -->\n${SHOWN}`;
    const after = withMeta(before, { commandTimes: [1, 2] });
    expect(after).toBe(`${COMMENT_MARKER}\n<!-- prenv:meta {"commandTimes":[1,2]} -->\n${SHOWN}`);
    expect(readMeta(after)).toEqual({ commandTimes: [1, 2] });
  });

  it("adds the line to a comment without one, and removes it when nothing is left to keep", () => {
    const bare = `${COMMENT_MARKER}\n${SHOWN}`;
    expect(readMeta(withMeta(bare, { commandTimes: [5] }))).toEqual({ commandTimes: [5] });
    expect(withMeta(withMeta(bare, { commandTimes: [5] }), {})).toBe(bare);
  });
});
