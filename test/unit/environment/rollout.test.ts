// When the follow-up looks at a rollout come: quickly at first, then at most every operator-set
// interval; a look scheduled from the elapsed time lands on the same attempt (and so the same job
// id) as the follow-ups already scheduled.
import { describe, expect, it } from "vitest";
import { checkDelayMs, nextCheck } from "../../../src/environment/rollout.js";
import { rolloutCheckJob } from "../../../src/jobs/job.js";
import { parseJob } from "../../../src/jobs/schema.js";

describe("follow-up schedule", () => {
  it("waits 2 s, then half as long again each time, up to the longest interval", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => checkDelayMs(n, 20_000))).toEqual([
      2000, 3000, 4500, 6750, 10125, 15188, 20000, 20000,
    ]);
    expect([1, 2, 3].map((n) => checkDelayMs(n, 1000))).toEqual([1000, 1000, 1000]);
  });

  it("looks at a 60-second rollout 7 times with the default interval", () => {
    let at = 0;
    let looks = 0;
    for (let n = 1; at < 60_000; n++, looks++) at += checkDelayMs(n, 20_000);
    expect(looks).toBe(7);
  });

  it("finds the next follow-up from the time elapsed", () => {
    expect(nextCheck(0, 20_000)).toEqual({ attempt: 1, delayMs: 2000 });
    expect(nextCheck(1_500, 20_000)).toEqual({ attempt: 1, delayMs: 500 });
    expect(nextCheck(2_000, 20_000)).toEqual({ attempt: 2, delayMs: 3000 });
    expect(nextCheck(10_000, 20_000)).toEqual({ attempt: 4, delayMs: 6250 });
  });
});

describe("follow-up jobs", () => {
  const pr = { installationId: 7, owner: "Acme", repo: "Web", number: 12 };
  const check = {
    sha: "0123456789abcdef0123456789abcdef01234567",
    configHash: "0f1e2d3c4b5a6978",
    since: Date.UTC(2026, 11, 1, 12),
    attempt: 3,
  };

  it("carry the check and a delivery id per PR, commit, config and attempt, and read back as jobs", () => {
    const job = rolloutCheckJob(pr, check, 99);
    expect(job).toMatchObject({ ...pr, repoId: 99, reason: "rollout.check", check });
    expect(job.delivery).toBe(
      `check:acme/web#12:0123456789ab:0f1e2d3c4b5a6978:${check.since.toString(36)}:3`,
    );
    expect(parseJob(JSON.stringify(job))).toEqual(job);
    expect(rolloutCheckJob({ ...pr, number: 13 }, check, 99).delivery).not.toBe(job.delivery);
    expect(rolloutCheckJob(pr, { ...check, attempt: 4 }, 99).delivery).not.toBe(job.delivery);
    // A redeploy of the same commit and config (reopen, /env redeploy) is another rollout.
    expect(rolloutCheckJob(pr, { ...check, since: check.since + 1 }, 99).delivery).not.toBe(job.delivery);
  });

  it("refuse a malformed check", () => {
    const job = rolloutCheckJob(pr, check, 99);
    expect(() => parseJob(JSON.stringify({ ...job, check: { ...check, sha: "HEAD" } }))).toThrow(/check.sha/);
    expect(() => parseJob(JSON.stringify({ ...job, check: { ...check, since: -1 } }))).toThrow(/check.since/);
    expect(() => parseJob(JSON.stringify({ ...job, check: { ...check, attempt: 0 } }))).toThrow(
      /check.attempt/,
    );
  });
});
