// `npm start` repairs on its own: a janitor pass right after start and then on its interval, never
// two at once, a failed pass logged and the next one tried (issue 17: "npm start never repairs").
import { describe, expect, it } from "vitest";
import type { JanitorReport } from "../../../src/environment/janitor.js";
import { scheduleJanitor } from "../../../src/runtime/local-janitor.js";
import { loadSettings } from "../../../src/runtime/settings.js";

const REPORT: JanitorReport = {
  environments: 1,
  repositories: 1,
  reconciled: [],
  deleted: [],
  skipped: [],
  cost: {},
  currency: "USD",
  saved: { asleep: 0, cpuHours: 0, memoryGiBHours: 0 },
};

/** Timers run by hand: `fire()` runs the one due callback. */
function manualTimers() {
  const due: { fn: () => void; ms: number }[] = [];
  return {
    due,
    timers: {
      setTimeout: (fn: () => void, ms: number) => {
        const t = { fn, ms };
        due.push(t);
        return t;
      },
      clearTimeout: (h: unknown) => {
        const i = due.indexOf(h as (typeof due)[number]);
        if (i >= 0) due.splice(i, 1);
      },
    },
    fire() {
      const t = due.shift();
      if (!t) throw new Error("no timer due");
      t.fn();
      return t.ms;
    },
  };
}

const flush = () => new Promise((r) => setImmediate(r));
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe("npm start's janitor", () => {
  it("runs a pass right after start (repairing what a killed process left) and then every interval", async () => {
    const t = manualTimers();
    let passes = 0;
    const j = scheduleJanitor({
      everyMs: 900_000,
      pass: () => Promise.resolve(void passes++).then(() => REPORT),
      log: quiet,
      timers: t.timers,
    });
    expect(t.fire()).toBe(0);
    await flush();
    expect(passes).toBe(1);
    expect(t.due.map((d) => d.ms)).toEqual([900_000]);
    t.fire();
    await flush();
    expect(passes).toBe(2);
    await j.stop();
    expect(t.due).toEqual([]);
  });

  it("never starts a pass while the last one is still running; the next is scheduled after it ends", async () => {
    const t = manualTimers();
    let finish!: () => void;
    let passes = 0;
    const j = scheduleJanitor({
      everyMs: 1000,
      pass: () => {
        passes++;
        return new Promise<JanitorReport>((r) => (finish = () => r(REPORT)));
      },
      log: quiet,
      timers: t.timers,
    });
    t.fire();
    await flush();
    expect(t.due).toEqual([]);
    finish();
    await flush();
    expect(t.due.map((d) => d.ms)).toEqual([1000]);
    expect(passes).toBe(1);
    await j.stop();
  });

  it("logs a failed pass with its reason and still runs the next one", async () => {
    const t = manualTimers();
    const errors: string[] = [];
    let passes = 0;
    const j = scheduleJanitor({
      everyMs: 1000,
      pass: () =>
        ++passes === 1 ? Promise.reject(new Error("cannot reach GitHub's API")) : Promise.resolve(REPORT),
      log: { ...quiet, error: (meta) => errors.push((meta as { err: string }).err) },
      timers: t.timers,
    });
    t.fire();
    await flush();
    expect(errors).toEqual(["cannot reach GitHub's API"]);
    t.fire();
    await flush();
    expect(passes).toBe(2);
    await j.stop();
  });

  it("PRENV_JANITOR_INTERVAL: 15 minutes by default, a duration, or off", () => {
    expect(loadSettings({}).janitorIntervalMs).toBe(15 * 60_000);
    expect(loadSettings({ PRENV_JANITOR_INTERVAL: "5m" }).janitorIntervalMs).toBe(5 * 60_000);
    expect(loadSettings({ PRENV_JANITOR_INTERVAL: "off" }).janitorIntervalMs).toBe(0);
    expect(() => loadSettings({ PRENV_JANITOR_INTERVAL: "soon" })).toThrow(/PRENV_JANITOR_INTERVAL/);
  });

  it("off: no pass at all", async () => {
    const t = manualTimers();
    const j = scheduleJanitor({
      everyMs: 0,
      pass: () => Promise.resolve(REPORT),
      log: quiet,
      timers: t.timers,
    });
    expect(t.due).toEqual([]);
    await j.stop();
  });
});
