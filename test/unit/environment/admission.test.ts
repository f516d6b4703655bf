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
