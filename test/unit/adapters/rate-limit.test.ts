// How long GitHub asks prenv to wait, read from its answer's status, headers and message.
import { describe, expect, it } from "vitest";
import { githubError } from "../../../src/adapters/github/errors.js";
import { rateLimitWait } from "../../../src/adapters/github/rate-limit.js";

const NOW = Date.parse("2026-06-01T12:00:00Z");
const answer = (status: number, headers: Record<string, string>, message = "") => ({
  status,
  message,
  response: { headers },
});

describe("rateLimitWait", () => {
  it.each([
    ["429 with Retry-After in seconds", answer(429, { "retry-after": "3" }), 3000],
    ["403 with Retry-After in seconds", answer(403, { "retry-after": "1" }, "secondary rate limit"), 1000],
    ["Retry-After as an HTTP date", answer(429, { "retry-after": "Mon, 01 Jun 2026 12:00:05 GMT" }), 5000],
    ["Retry-After in the past", answer(429, { "retry-after": "Mon, 01 Jun 2026 11:00:00 GMT" }), 0],
    [
      "primary quota spent: until the reset, plus a second",
      answer(403, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(NOW / 1000 + 10) }),
      11_000,
    ],
    [
      "secondary limit without headers: a minute",
      answer(403, {}, "You have exceeded a secondary rate limit"),
      60_000,
    ],
    ["429 without headers: a minute", answer(429, {}), 60_000],
    ["403 that is a missing permission", answer(403, {}, "Resource not accessible by integration"), null],
    ["403 with quota left", answer(403, { "x-ratelimit-remaining": "12" }, "Forbidden"), null],
    ["500 with Retry-After", answer(500, { "retry-after": "1" }), null],
    ["not an HTTP error", new Error("socket hang up"), null],
  ])("%s", (_name, err, wait) => {
    expect(rateLimitWait(err, NOW)).toBe(wait);
  });
});

describe("githubError: what a failed request's message tells the operator to do", () => {
  it("a 403 that is a secondary rate limit says so, not to check the App's permissions", () => {
    const err = githubError(answer(403, {}, "You have exceeded a secondary rate limit"), "edit the comment");
    expect(err.message).toBe(
      "GitHub API 403 failed while trying to edit the comment. GitHub is limiting prenv's requests (a rate limit); the job is tried again later.",
    );
  });

  it("a 403 that is a missing permission points at the App's permissions", () => {
    const err = githubError(answer(403, {}, "Resource not accessible by integration"), "create a check run");
    expect(err.message).toContain("Check the GitHub App's permissions");
    expect(err.message).not.toContain("rate limit");
  });
});
