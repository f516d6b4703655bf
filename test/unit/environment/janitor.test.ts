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

async function run(
  envs: EnvironmentRecord[],
  pulls: { repoId: number | null; open: Set<number> } | null,
  rolloutTimeoutMs?: number,
) {
  const jobs: ReconcileJob[] = [];
  const deleted: string[] = [];
  const report = await sweep({
    listEnvironments: () => Promise.resolve(envs),
    openPulls: () => Promise.resolve(pulls),
    enqueue: (job) => Promise.resolve(void jobs.push(job)),
    deleteNamespace: (name) => Promise.resolve(void deleted.push(name)),
    clock: { now: () => NOW },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    prices: { cpuHour: 0, gibHour: 0, currency: "USD" },
    ...(rolloutTimeoutMs ? { rolloutTimeoutMs } : {}),
  });
  return { jobs, deleted, report };
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
    const { jobs, deleted } = await run([env("a", "100")], { repoId: 100, open: new Set([7]) });
    expect(jobs).toEqual([]);
    expect(deleted).toEqual([]);
  });

  it("deletes an environment whose repository name now belongs to another repository", async () => {
    const { jobs, deleted, report } = await run([env("a", "100")], { repoId: 200, open: new Set([7]) });
    expect(jobs).toEqual([]);
    expect(deleted).toEqual(["a"]);
    expect(report.deleted[0]!.reason).toMatch(/now another repository \(id 200, recorded 100\)/);
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

  it("skips a namespace whose labels do not record an owner", async () => {
    const broken = env("a", "not-a-number");
    const { jobs, deleted, report } = await run([broken], { repoId: 100, open: new Set() });
    expect(jobs).toEqual([]);
    expect(deleted).toEqual([]);
    expect(report.skipped[0]!.reason).toMatch(/prenv.dev\/repo-id/);
  });
});
