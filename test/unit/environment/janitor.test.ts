// The janitor's decisions for one repository, from what the namespaces record and what GitHub says.
import { describe, expect, it } from "vitest";
import { sweep } from "../../../src/environment/janitor.js";
import type { EnvironmentRecord } from "../../../src/environment/ports.js";
import type { ReconcileJob } from "../../../src/jobs/job.js";

const NOW = new Date("2026-12-01T12:00:00Z");

function env(name: string, repoId: string, pr = 7): EnvironmentRecord {
  return {
    name,
    phase: "Active",
    labels: {
      "app.kubernetes.io/managed-by": "prenv",
      "prenv.dev/pr": String(pr),
      "prenv.dev/repo-id": repoId,
    },
    annotations: {
      "prenv.dev/repository": "acme/web",
      "prenv.dev/pr": String(pr),
      "prenv.dev/installation": "5",
      "prenv.dev/expires-at": "2026-12-03T00:00:00Z",
      "prenv.dev/checked-at": NOW.toISOString(),
    },
  };
}

type Pulls = { repoId: number | null; open: Set<number> } | null;

async function run(envs: EnvironmentRecord[], pulls: Pulls | Error, rolloutTimeoutMs?: number) {
  const jobs: ReconcileJob[] = [];
  const report = await sweep({
    listEnvironments: () => Promise.resolve(envs),
    openPulls: () => (pulls instanceof Error ? Promise.reject(pulls) : Promise.resolve(pulls)),
    enqueue: (job) => Promise.resolve(void jobs.push(job)),
    clock: { now: () => NOW },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    prices: { cpuHour: 0, gibHour: 0, currency: "USD" },
    ...(rolloutTimeoutMs ? { rolloutTimeoutMs } : {}),
  });
  return { jobs, report };
}

describe("janitor sweep", () => {
  it("reconciles a rollout still in progress well after its timeout (its follow-ups were lost), not before", async () => {
    const rolling = (minutesAgo: number): EnvironmentRecord => {
      const e = env("a", "100");
      e.annotations["prenv.dev/state"] = "rolling-out";
      e.annotations["prenv.dev/applied-objects"] = "[]";
      e.annotations["prenv.dev/rollout-since"] = new Date(NOW.getTime() - minutesAgo * 60_000).toISOString();
      return e;
    };
    const open = { repoId: 100, open: new Set([7]) };
    expect((await run([rolling(6)], open, 300_000)).jobs).toEqual([]);
    expect((await run([rolling(11)], open, 300_000)).jobs).toEqual([
      expect.objectContaining({ number: 7, reason: "janitor: rollout not finished after its timeout" }),
    ]);
    expect((await run([rolling(11)], open)).jobs).toEqual([]);
  });

  it("leaves an open PR's environment alone when the repository id matches", async () => {
    const { jobs } = await run([env("a", "100")], { repoId: 100, open: new Set([7]) });
    expect(jobs).toEqual([]);
  });

  it("asks for a purge, in the PR's queue group, of an environment whose repository name now belongs to another repository", async () => {
    const { jobs, report } = await run([env("a", "100")], { repoId: 200, open: new Set([7]) });
    expect(jobs).toEqual([
      expect.objectContaining({ owner: "acme", repo: "web", number: 7, repoId: 100, purge: true }),
    ]);
    expect(report.deleted[0]!.reason).toMatch(/now another repository \(id 200, recorded 100\)/);
  });

  it("asks for a purge of an environment whose repository GitHub says is gone", async () => {
    const { jobs, report } = await run([env("a", "100")], null);
    expect(jobs).toEqual([expect.objectContaining({ number: 7, repoId: 100, purge: true })]);
    expect(report.deleted).toEqual([{ namespace: "a", reason: "repository gone or App uninstalled" }]);
  });

  it("changes nothing for a repository GitHub did not answer for (a 5xx, a rate limit): skipped until the next pass", async () => {
    const { jobs, report } = await run(
      [env("a", "100"), env("b", "100", 8)],
      new Error("GitHub API 403 failed while trying to list the open pull requests of acme/web."),
    );
    expect(jobs).toEqual([]);
    expect(report.deleted).toEqual([]);
    expect(report.skipped.map((s) => s.namespace)).toEqual(["a", "b"]);
    expect(report.skipped[0]!.reason).toMatch(/did not list the open pull requests of acme\/web .*next pass/);
  });

  it("asks for a reconcile of a closed PR with the repository id recorded on its namespace", async () => {
    const { jobs } = await run([env("a", "100")], { repoId: null, open: new Set() });
    expect(jobs).toEqual([
      expect.objectContaining({
        owner: "acme",
        repo: "web",
        number: 7,
        repoId: 100,
        reason: "janitor: pull request closed",
      }),
    ]);
  });

  it.each([
    [
      "a job gave up or was cut short on its last attempt",
      { "prenv.dev/unsettled-since": NOW.toISOString() },
      "a job did not finish",
    ],
    [
      "a deploy is in progress or was cut short",
      { "prenv.dev/state": "deploying", "prenv.dev/applied-objects": "[]" },
      "deploying",
    ],
  ])("asks for a reconcile of an open PR's environment when %s", async (_what, annotations, reason) => {
    const e = env("a", "100");
    e.annotations = { ...e.annotations, ...annotations };
    const { jobs } = await run([e], { repoId: 100, open: new Set([7]) });
    expect(jobs).toEqual([expect.objectContaining({ number: 7, reason: `janitor: ${reason}` })]);
  });

  it("skips a namespace whose labels do not record an owner", async () => {
    const broken = env("a", "not-a-number");
    const { jobs, report } = await run([broken], { repoId: 100, open: new Set() });
    expect(jobs).toEqual([]);
    expect(report.skipped[0]!.reason).toMatch(/prenv.dev\/repo-id/);
  });
});
