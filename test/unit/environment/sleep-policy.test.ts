import { describe, expect, it } from "vitest";
import {
  decodePolicy,
  encodePolicy,
  inAwakeHours,
  sleepDecision,
  type SleepPolicy,
} from "../../../src/environment/sleep-policy.js";

const berlinWorkdays = {
  timezone: "Europe/Berlin",
  days: ["mon", "tue", "wed", "thu", "fri"],
  from: "08:00",
  to: "20:00",
};

describe("inAwakeHours", () => {
  it.each<[string, string, boolean]>([
    // 2026-11-23 is a Monday; Berlin is UTC+1 in November.
    ["Monday 07:30 UTC = 08:30 Berlin", "2026-11-23T07:30:00Z", true],
    ["Monday 06:59 UTC = 07:59 Berlin", "2026-11-23T06:59:00Z", false],
    ["Monday 19:00 UTC = 20:00 Berlin (end is exclusive)", "2026-11-23T19:00:00Z", false],
    ["Saturday noon", "2026-11-28T11:00:00Z", false],
    ["Friday 18:59 UTC = 19:59 Berlin", "2026-11-27T18:59:00Z", true],
  ])("%s", (_name, iso, expected) => {
    expect(inAwakeHours(berlinWorkdays, new Date(iso))).toBe(expected);
  });

  it("handles windows across midnight", () => {
    const nights = {
      timezone: "UTC",
      days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
      from: "22:00",
      to: "06:00",
    };
    expect(inAwakeHours(nights, new Date("2026-11-23T23:00:00Z"))).toBe(true);
    expect(inAwakeHours(nights, new Date("2026-11-23T12:00:00Z"))).toBe(false);
  });

  it("never puts anything to sleep for an unknown zone", () => {
    expect(
      inAwakeHours({ ...berlinWorkdays, timezone: "Mars/Olympus" }, new Date("2026-11-28T11:00:00Z")),
    ).toBe(true);
  });
});

describe("sleepDecision", () => {
  const idle2h: SleepPolicy = { afterMs: 2 * 3600_000, schedule: null };
  const now = new Date("2026-11-23T12:00:00Z");
  const awake = { sleeping: false, reason: null, lastActivity: now.getTime() - 3600_000 };

  it.each<[string, SleepPolicy, Parameters<typeof sleepDecision>[1], ReturnType<typeof sleepDecision>]>([
    ["no settings: nothing", { afterMs: null, schedule: null }, awake, null],
    ["idle less than after: nothing", idle2h, awake, null],
    [
      "idle longer than after: sleep (idle)",
      idle2h,
      { ...awake, lastActivity: now.getTime() - 3 * 3600_000 },
      { action: "sleep", reason: "idle" },
    ],
    [
      "outside awake hours: sleep (schedule)",
      { afterMs: null, schedule: { ...berlinWorkdays, days: ["sat"] } },
      awake,
      { action: "sleep", reason: "schedule" },
    ],
    [
      "asleep by schedule, hours begin: wake",
      { afterMs: null, schedule: berlinWorkdays },
      { sleeping: true, reason: "schedule", lastActivity: null },
      { action: "wake" },
    ],
    [
      "asleep by command: the schedule does not wake it",
      { afterMs: null, schedule: berlinWorkdays },
      { sleeping: true, reason: "command", lastActivity: null },
      null,
    ],
    [
      "asleep when idle: stays asleep until a push or command",
      idle2h,
      { sleeping: true, reason: "idle", lastActivity: 0 },
      null,
    ],
  ])("%s", (_name, policy, status, expected) => {
    expect(sleepDecision(policy, status, now)).toEqual(expected);
  });
});

describe("policy annotation", () => {
  it("round-trips and rejects junk", () => {
    const p: SleepPolicy = { afterMs: 7_200_000, schedule: berlinWorkdays };
    expect(decodePolicy(encodePolicy(p))).toEqual(p);
    expect(decodePolicy("{")).toBeNull();
    expect(decodePolicy(undefined)).toBeNull();
    expect(decodePolicy(JSON.stringify({ afterMs: -5, schedule: { timezone: 3 } }))).toEqual({
      afterMs: null,
      schedule: null,
    });
  });
});
