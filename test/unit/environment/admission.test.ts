import { describe, expect, it } from "vitest";
import { capacity } from "../../../src/environment/admission.js";
import type { EnvironmentRecord } from "../../../src/environment/ports.js";

function env(
  name: string,
  repository: string,
  opts: { queued?: string; terminating?: boolean } = {},
): EnvironmentRecord {
  return {
    name,
    phase: opts.terminating ? "Terminating" : "Active",
    labels: opts.queued ? { "prenv.dev/queued": "true" } : {},
    annotations: {
      "prenv.dev/repository": repository,
      ...(opts.queued ? { "prenv.dev/requested-at": opts.queued } : {}),
    },
  };
}

const T = (m: number) => Date.parse(`2026-11-22T10:${String(m).padStart(2, "0")}:00Z`);

describe("capacity", () => {
  it("admits when no cap is reached", () => {
    expect(
      capacity(
        [env("a", "o/r")],
        { namespace: "me", repository: "o/r", requestedAt: T(5) },
        { operator: 2, repo: undefined },
      ).admit,
    ).toBe(true);
  });

  it("queues over the operator cap, terminating environments not counted", () => {
    const all = [env("a", "o/x"), env("b", "o/y"), env("c", "o/z", { terminating: true })];
    const v = capacity(
      all,
      { namespace: "me", repository: "o/r", requestedAt: T(5) },
      { operator: 2, repo: undefined },
    );
    expect(v).toMatchObject({ admit: false, position: 1 });
    expect(v.reason).toContain("limit of 2 environments");
  });

  it("queues over the repository cap but not for another repository", () => {
    const all = [env("a", "o/r")];
    expect(
      capacity(all, { namespace: "me", repository: "o/r", requestedAt: T(5) }, { operator: 0, repo: 1 }),
    ).toMatchObject({
      admit: false,
      position: 1,
    });
    expect(
      capacity(all, { namespace: "me", repository: "o/other", requestedAt: T(5) }, { operator: 0, repo: 1 })
        .admit,
    ).toBe(true);
  });

  it("admits oldest request first: a free slot goes to whoever asked earlier", () => {
    const all = [env("a", "o/r"), env("q1", "o/r", { queued: new Date(T(1)).toISOString() })];
    // One slot free (cap 2, one running); q1 asked at :01, me at :05.
    expect(
      capacity(
        all,
        { namespace: "me", repository: "o/r", requestedAt: T(5) },
        { operator: 2, repo: undefined },
      ),
    ).toMatchObject({
      admit: false,
      position: 2,
    });
    expect(
      capacity(
        all,
        { namespace: "q1", repository: "o/r", requestedAt: T(1) },
        { operator: 2, repo: undefined },
      ).admit,
    ).toBe(true);
  });
});

describe("capacity, table-driven", () => {
  const running = (name: string, repo = "o/r") => env(name, repo);
  const queued = (name: string, minute: number, repo = "o/r") =>
    env(name, repo, { queued: new Date(T(minute)).toISOString() });
  it.each<
    [string, EnvironmentRecord[], { operator: number; repo: number | undefined }, number, boolean, number]
  >([
    ["no caps at all", [running("a"), running("b")], { operator: 0, repo: undefined }, 5, true, 0],
    ["under the operator cap", [running("a")], { operator: 2, repo: undefined }, 5, true, 0],
    ["at the operator cap", [running("a"), running("b")], { operator: 2, repo: undefined }, 5, false, 1],
    [
      "at the repository cap, other repositories do not count",
      [running("a"), running("b", "o/x")],
      { operator: 0, repo: 1 },
      5,
      false,
      1,
    ],
    [
      "a free slot, but two asked earlier: third in line",
      [running("a"), queued("q1", 1), queued("q2", 2)],
      { operator: 2, repo: undefined },
      5,
      false,
      3,
    ],
    [
      "a free slot and nobody earlier",
      [running("a"), queued("q9", 9)],
      { operator: 2, repo: undefined },
      5,
      true,
      0,
    ],
    [
      "my own placeholder does not count against me",
      [running("a"), queued("me", 5)],
      { operator: 2, repo: undefined },
      5,
      true,
      0,
    ],
    [
      "a terminating environment frees its slot",
      [running("a"), env("b", "o/r", { terminating: true })],
      { operator: 2, repo: undefined },
      5,
      true,
      0,
    ],
  ])("%s", (_name, all, caps, minute, admit, position) => {
    const verdict = capacity(all, { namespace: "me", repository: "o/r", requestedAt: T(minute) }, caps);
    expect(verdict).toMatchObject({ admit, position });
  });
});
