// The gates' decisions that need no I/O (src/environment/gates.ts): the required checks. (The
// filters are eligibility(), in filters.test.ts; expiry and isolation are lifetime.test.ts; trust is
// approval.test.ts; caps are admission.test.ts. Their order and effects run in the cluster tier.)
import { describe, expect, it } from "vitest";
import { checksVerdict } from "../../../src/environment/gates.js";
import type { CheckState } from "../../../src/environment/ports.js";

describe("checksVerdict (deploy.waitForChecks)", () => {
  it.each<[string, string[], Record<string, CheckState>, ReturnType<typeof checksVerdict>]>([
    ["every check succeeded", ["build", "test"], { build: "success", test: "success" }, { kind: "passed" }],
    [
      "one still running",
      ["build", "test"],
      { build: "success", test: "pending" },
      { kind: "waiting", pending: ["test"] },
    ],
    ["one not started yet", ["build"], { build: "missing" }, { kind: "waiting", pending: ["build"] }],
    ["a check GitHub does not report at all", ["build"], {}, { kind: "waiting", pending: ["build"] }],
    [
      "a failure wins over pending ones",
      ["build", "test", "lint"],
      { build: "failure", test: "pending", lint: "failure" },
      { kind: "failed", failed: ["build", "lint"] },
    ],
    ["nothing to wait for", [], {}, { kind: "passed" }],
  ])("%s", (_name, names, states, verdict) => {
    expect(checksVerdict(names, new Map(Object.entries(states)))).toEqual(verdict);
  });
});
