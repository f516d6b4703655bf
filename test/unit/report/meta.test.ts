// The comment's hidden state is rewritten alone when what the comment shows must stay as it is
// (a failed environment put to sleep).
import { describe, expect, it } from "vitest";
import { COMMENT_MARKER, readMeta, withMeta } from "../../../src/report/comment.js";

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
