// The lifetime rule (src/environment/lifetime.ts), decision by decision: creation and expiry,
// renewal on push, /env extend, the expiry warning, and when an environment has outlived itself.
import { describe, expect, it } from "vitest";
import {
  expired,
  extension,
  lifeOf,
  outlived,
  renewed,
  warnAt,
  warningDue,
} from "../../../src/environment/lifetime.js";
import { at, config, DAY, HOUR, view } from "./views.js";

const NOW = at("2026-12-01T12:00:00.000Z");
const OPERATOR_MAX = 14 * DAY;

describe("lifeOf: created now and expiring after ttl, or as recorded", () => {
  it.each([
    ["a new environment: ttl", null, {}, NOW, new Date(NOW.getTime() + 72 * HOUR)],
    [
      "ttl above maxTtl cannot happen, but maxTtl caps",
      null,
      { ttl: "2d", maxTtl: "2d" },
      NOW,
      new Date(NOW.getTime() + 2 * DAY),
    ],
    [
      "recorded creation and expiry are kept (an /env extend moved it)",
      view({ "created-at": "2026-11-30T00:00:00Z", "expires-at": "2026-12-05T00:00:00Z" }),
      {},
      at("2026-11-30T00:00:00Z"),
      at("2026-12-05T00:00:00Z"),
    ],
    [
      "recorded creation without expiry: creation + ttl",
      view({ "created-at": "2026-11-30T00:00:00Z" }),
      { ttl: "1d" },
      at("2026-11-30T00:00:00Z"),
      at("2026-12-01T00:00:00Z"),
    ],
    [
      "a malformed expiry counts as none",
      view({ "created-at": "2026-11-30T00:00:00Z", "expires-at": "soon" }),
      { ttl: "1d" },
      at("2026-11-30T00:00:00Z"),
      at("2026-12-01T00:00:00Z"),
    ],
  ])("%s", (_name, v, raw, createdAt, expiresAt) => {
    expect(lifeOf(v, config(raw), NOW, OPERATOR_MAX)).toEqual({ createdAt, expiresAt });
  });

  it("the operator's maximum caps a repository's ttl", () => {
    expect(lifeOf(null, config({ ttl: "7d", maxTtl: "7d" }), NOW, 2 * DAY).expiresAt).toEqual(
      new Date(NOW.getTime() + 2 * DAY),
    );
  });
});

describe("renewed (ttlRenewOnPush): now + ttl, capped from creation", () => {
  const created = at("2026-11-28T12:00:00.000Z");
  it.each([
    ["well within maxTtl", { ttl: "1d", maxTtl: "7d" }, new Date(NOW.getTime() + DAY)],
    ["capped by maxTtl from creation", { ttl: "3d", maxTtl: "4d" }, new Date(created.getTime() + 4 * DAY)],
  ])("%s", (_name, raw, expected) => {
    const life = { createdAt: created, expiresAt: at("2026-12-01T13:00:00.000Z") };
    expect(renewed(life, config(raw), NOW, OPERATOR_MAX)).toEqual(expected);
  });
});

describe("extension (/env extend)", () => {
  const created = "2026-12-01T00:00:00.000Z";
  it.each<[string, Record<string, string>, number | null, Record<string, string>, string, string | null]>([
    [
      "by the ttl from the current expiry",
      { "created-at": created, "expires-at": "2026-12-02T00:00:00.000Z" },
      null,
      { ttl: "1d", maxTtl: "7d" },
      "2026-12-03T00:00:00.000Z",
      null,
    ],
    [
      "by the duration asked",
      { "created-at": created, "expires-at": "2026-12-02T00:00:00.000Z" },
      6 * HOUR,
      { maxTtl: "7d" },
      "2026-12-02T06:00:00.000Z",
      null,
    ],
    [
      "from now when already expired",
      { "created-at": created, "expires-at": "2026-12-01T06:00:00.000Z" },
      2 * HOUR,
      { maxTtl: "7d" },
      "2026-12-01T14:00:00.000Z",
      null,
    ],
    [
      "capped by the repository's maxTtl from creation",
      { "created-at": created, "expires-at": "2026-12-02T00:00:00.000Z" },
      10 * DAY,
      { maxTtl: "3d", ttl: "1d" },
      "2026-12-04T00:00:00.000Z",
      "repository",
    ],
    [
      "without a recorded creation, counted from now",
      { "expires-at": "2026-12-02T00:00:00.000Z" },
      10 * DAY,
      { maxTtl: "2d", ttl: "1d" },
      "2026-12-03T12:00:00.000Z",
      "repository",
    ],
  ])("%s", (_name, annotations, durationMs, raw, expiresAt, cappedBy) => {
    const to = extension(view(annotations), config(raw), { durationMs, now: NOW }, OPERATOR_MAX);
    expect(to).toEqual({ expiresAt: at(expiresAt), cappedBy });
  });

  it("capped by the operator's maximum when it is the smaller cap", () => {
    const v = view({ "created-at": created, "expires-at": "2026-12-02T00:00:00.000Z" });
    expect(extension(v, config({ maxTtl: "7d" }), { durationMs: 10 * DAY, now: NOW }, 2 * DAY)).toEqual({
      expiresAt: at("2026-12-03T00:00:00.000Z"),
      cappedBy: "operator",
    });
  });
});

describe("warningDue: within warnBeforeExpiry, once per expiry", () => {
  const expiresAt = at("2026-12-02T00:00:00.000Z");
  const life = { createdAt: at("2026-11-29T00:00:00.000Z"), expiresAt };
  it.each<[string, string, string | null, boolean]>([
    ["more than warnBeforeExpiry left", "2026-11-30T00:00:00.000Z", null, false],
    ["exactly warnBeforeExpiry left", "2026-12-01T00:00:00.000Z", null, true],
    ["within it, not warned yet", "2026-12-01T12:00:00.000Z", null, true],
    ["within it, warned for this expiry", "2026-12-01T12:00:00.000Z", "2026-12-02T00:00:00.000Z", false],
    [
      "within it, warned for an earlier expiry (/env extend since)",
      "2026-12-01T12:00:00.000Z",
      "2026-11-30T00:00:00.000Z",
      true,
    ],
    ["already expired, not warned", "2026-12-03T00:00:00.000Z", null, true],
  ])("%s", (_name, now, warnedFor, due) => {
    expect(warningDue(life, warnedFor, config({ warnBeforeExpiry: "24h" }), at(now))).toBe(due);
  });

  it("the janitor's warn-at is warnBeforeExpiry before expiry", () => {
    expect(warnAt(life, config({ warnBeforeExpiry: "6h" }))).toEqual(at("2026-12-01T18:00:00.000Z"));
  });

  // Issue 17: with ttl <= warnBeforeExpiry every new environment mentioned its author at once.
  describe("ttl no longer than warnBeforeExpiry: a warning is due only after creation", () => {
    const created = at("2026-12-01T12:00:00.000Z");
    const short = { createdAt: created, expiresAt: at("2026-12-01T12:30:00.000Z") };
    it.each<[string, { ttl: string; warnBeforeExpiry: string }]>([
      ["ttl shorter (30m, warn 1h)", { ttl: "30m", warnBeforeExpiry: "1h" }],
      ["ttl equal (30m, warn 30m)", { ttl: "30m", warnBeforeExpiry: "30m" }],
    ])("%s: not at creation, not later, and warn-at is the expiry", (_name, c) => {
      for (const now of [created, at("2026-12-01T12:20:00.000Z")]) {
        expect(warningDue(short, null, config(c), now)).toBe(false);
      }
      expect(warnAt(short, config(c))).toEqual(short.expiresAt);
    });

    it("an /env extend that moves the expiry past creation + warnBeforeExpiry makes it due again", () => {
      const extended = { createdAt: created, expiresAt: at("2026-12-01T14:00:00.000Z") };
      const c = config({ ttl: "30m", warnBeforeExpiry: "1h" });
      expect(warnAt(extended, c)).toEqual(at("2026-12-01T13:00:00.000Z"));
      expect(warningDue(extended, null, c, at("2026-12-01T12:40:00.000Z"))).toBe(false);
      expect(warningDue(extended, null, c, at("2026-12-01T13:00:00.000Z"))).toBe(true);
    });
  });
});

describe("outlived: expired, or built as another isolation", () => {
  it.each<[string, Record<string, string>, Record<string, string>, Record<string, unknown>, RegExp | null]>([
    ["alive", { "expires-at": "2026-12-02T00:00:00Z", isolation: "namespace" }, {}, {}, null],
    ["expired", { "expires-at": "2026-12-01T11:00:00Z" }, {}, {}, /end of its lifetime/],
    ["expiring this very moment", { "expires-at": NOW.toISOString() }, {}, {}, /end of its lifetime/],
    ["no recorded expiry never expires", {}, {}, {}, null],
    [
      "built as namespace, now vcluster",
      { "expires-at": "2026-12-02T00:00:00Z" },
      {},
      { isolation: "vcluster" },
      /from namespace to vcluster/,
    ],
    [
      "built as vcluster, now namespace",
      { "expires-at": "2026-12-02T00:00:00Z", isolation: "vcluster" },
      {},
      {},
      /from vcluster to namespace/,
    ],
    ["no isolation recorded reads as namespace", { "expires-at": "2026-12-02T00:00:00Z" }, {}, {}, null],
    [
      "a queued placeholder was built as nothing",
      { "requested-at": "2026-12-01T00:00:00Z" },
      { "prenv.dev/queued": "true" },
      { isolation: "vcluster" },
      null,
    ],
  ])("%s", (_name, annotations, labels, raw, says) => {
    const reason = outlived(view(annotations, labels), config(raw), NOW);
    if (says) expect(reason).toMatch(says);
    else expect(reason).toBeNull();
  });

  it("expired() agrees with outlived on the boundary", () => {
    expect(expired(view({ "expires-at": NOW.toISOString() }), NOW)).toBe(true);
    expect(expired(view({ "expires-at": new Date(NOW.getTime() + 1).toISOString() }), NOW)).toBe(false);
  });
});
