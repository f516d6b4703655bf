// A follow-up job against what the namespace records and what GitHub says: a rollout still on its
// way gets the next follow-up without a single GitHub request; a stale follow-up (another commit or
// config deployed since, the rollout decided, the environment gone, the pull request closed or
// pushed to) changes nothing and says nothing.
import { describe, expect, it } from "vitest";
import { repoConfigSchema } from "../../../src/config/schema.js";
import { configHash, type ReconcileDeps } from "../../../src/environment/context.js";
import { namespaceName } from "../../../src/environment/naming.js";
import type { EnvironmentRecord, PullRequest, RolloutState } from "../../../src/environment/ports.js";
import { checkRollout } from "../../../src/environment/rollout.js";
import type { RolloutCheck } from "../../../src/jobs/job.js";
import { testSettings } from "../../support/settings.js";

const SHA = "a".repeat(40);
const NEWER = "b".repeat(40);
const SINCE = new Date("2026-12-01T12:00:00Z");
const ref = { owner: "acme", repo: "web", number: 7, installationId: 5, repoId: 100 };
const NS = namespaceName({ owner: "acme", repo: "web", pr: 7 }, "pr");
const config = repoConfigSchema.parse({});
const HASH = configHash(config);

function record(phase: string, sha = SHA): EnvironmentRecord {
  return {
    name: NS,
    phase: "Active",
    labels: { "app.kubernetes.io/managed-by": "prenv", "prenv.dev/pr": "7", "prenv.dev/repo-id": "100" },
    annotations: {
      "prenv.dev/repository": "acme/web",
      "prenv.dev/pr": "7",
      "prenv.dev/installation": "5",
      "prenv.dev/state": phase,
      "prenv.dev/deployed-sha": sha,
      "prenv.dev/config-hash": HASH,
      "prenv.dev/applied-objects": JSON.stringify([
        { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      ]),
      "prenv.dev/rollout-since": SINCE.toISOString(),
    },
  };
}

interface World {
  env: EnvironmentRecord | null;
  rollout: RolloutState;
  pull: PullRequest | null;
  secondsLater: number;
}

/** Deps whose every call is recorded; a call the test did not provide fails it. */
function fakeDeps(w: World) {
  const calls: string[] = [];
  const followUps: { check: RolloutCheck; repoId: number; delayMs: number }[] = [];
  const strict = <T extends object>(name: string, impl: Partial<T>): T =>
    new Proxy(impl, {
      get(target, key: string) {
        const fn = (target as Record<string, unknown>)[key];
        if (typeof fn !== "function") throw new Error(`unexpected ${name}.${key}`);
        return (...args: unknown[]) => {
          calls.push(`${name}.${key}`);
          return (fn as (...a: unknown[]) => unknown)(...args);
        };
      },
    }) as T;
  const deps = {
    cluster: strict<ReconcileDeps["cluster"]>("cluster", {
      readEnvironment: (name: string) => Promise.resolve(name === NS ? w.env : null),
      rolloutState: () => Promise.resolve(w.rollout),
    }),
    github: strict<ReconcileDeps["github"]>("github", {
      getPull: () => Promise.resolve(w.pull),
      getConfig: () => Promise.resolve({ kind: "ok" as const, config }),
      findComment: () => Promise.resolve(null),
    }),
    clock: { now: () => new Date(SINCE.getTime() + w.secondsLater * 1000) },
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    settings: testSettings().environment,
    templates: {} as ReconcileDeps["templates"],
    followUp: (job: { check: RolloutCheck; repoId: number }, delayMs: number) => {
      followUps.push({ ...job, delayMs });
      return Promise.resolve();
    },
  } satisfies ReconcileDeps;
  return { deps, calls, followUps };
}

const pull = (headSha: string, state: "open" | "closed" = "open") =>
  ({ number: 7, headSha, state, repoId: 100 }) as PullRequest;
const check = (attempt: number, sha = SHA): RolloutCheck => ({
  sha,
  configHash: HASH,
  since: SINCE.getTime(),
  attempt,
});
const ready: RolloutState = { ready: true };
const pending: RolloutState = { ready: false, pending: ["Deployment/web"], failed: [] };

describe("a follow-up job", () => {
  it("schedules the next follow-up while the rollout is on its way, without asking GitHub anything", async () => {
    const w = { env: record("rolling-out"), rollout: pending, pull: pull(SHA), secondsLater: 5 };
    const { deps, calls, followUps } = fakeDeps(w);
    expect(await checkRollout(ref, deps, check(3))).toBe("rolling-out");
    expect(calls).toEqual(["cluster.readEnvironment", "cluster.rolloutState"]);
    expect(followUps).toEqual([{ check: check(4), repoId: 100, delayMs: 1000 }]);
  });

  it.each([
    ["another commit deployed since", record("rolling-out", NEWER)],
    ["the rollout already decided (ready)", record("ready")],
    ["the rollout already decided (failed)", record("failed")],
    ["a redeploy still applying", record("deploying")],
    ["the environment gone", null],
  ])("does nothing when it is stale: %s", async (_, env) => {
    const { deps, calls, followUps } = fakeDeps({ env, rollout: ready, pull: pull(SHA), secondsLater: 5 });
    expect(await checkRollout(ref, deps, check(2))).toBe("unchanged");
    expect(calls.filter((c) => c !== "cluster.readEnvironment")).toEqual([]);
    expect(followUps).toEqual([]);
  });

  it.each([
    ["another config", { configHash: "0000000000000000" }],
    [
      "an earlier rollout of the same commit (before a reopen or /env redeploy)",
      { since: SINCE.getTime() - 1 },
    ],
  ])("does nothing for %s than the one rolling out", async (_, other) => {
    const w = { env: record("rolling-out"), rollout: ready, pull: pull(SHA), secondsLater: 5 };
    const { deps, calls, followUps } = fakeDeps(w);
    expect(await checkRollout(ref, deps, { ...check(2), ...other })).toBe("unchanged");
    expect(calls.filter((c) => c !== "cluster.readEnvironment")).toEqual([]);
    expect(followUps).toEqual([]);
  });

  it.each([
    ["closed", pull(SHA, "closed")],
    ["pushed to since", pull(NEWER)],
    ["gone", null],
  ])("writes and says nothing once ready when the pull request is %s", async (_, pr) => {
    const { deps, calls, followUps } = fakeDeps({
      env: record("rolling-out"),
      rollout: ready,
      pull: pr,
      secondsLater: 5,
    });
    expect(await checkRollout(ref, deps, check(2))).toBe("unchanged");
    // No annotate, no comment, no check run, no Deployment status (any of them would fail the fake).
    expect(calls.filter((c) => c.startsWith("github.") && c !== "github.findComment")).toEqual([
      "github.getPull",
    ]);
    expect(followUps).toEqual([]);
  });

  it("stops scheduling follow-ups once the rollout timeout has passed (the timeout is reported)", async () => {
    // Timed out and stale (pushed to since): no follow-up, and nothing said either.
    const w = { env: record("rolling-out"), rollout: pending, pull: pull(NEWER), secondsLater: 21 };
    const { deps, followUps } = fakeDeps(w);
    expect(await checkRollout(ref, deps, check(9))).toBe("unchanged");
    expect(followUps).toEqual([]);
  });
});
