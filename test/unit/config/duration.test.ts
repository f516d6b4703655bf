import { describe, expect, it } from "vitest";
import {
  DurationError,
  MAX_DURATION_MS,
  formatDuration,
  parseDuration,
} from "../../../src/config/duration.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe("parseDuration", () => {
  it.each([
    ["30m", 30 * MINUTE],
    ["1m", MINUTE],
    ["36h", 36 * HOUR],
    ["2d", 2 * DAY],
    ["1w", 7 * DAY],
    ["1d12h", 36 * HOUR],
    ["12h1d", 36 * HOUR],
    ["1w2d3h4m", 9 * DAY + 3 * HOUR + 4 * MINUTE],
    ["72H", 72 * HOUR],
    ["2D", 2 * DAY],
    ["05m", 5 * MINUTE],
    ["00000030m", 30 * MINUTE],
    ["5000000m", 5_000_000 * MINUTE],
  ])("reads %s as the right number of milliseconds", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ["", "it is empty"],
    ["0h", "greater than zero"],
    ["1d0h", "greater than zero"],
    ["-1h", "not a number followed by a unit"],
    ["+1h", "not a number followed by a unit"],
    ["1.5h", "not a number followed by a unit"],
    ["1 h", "not a number followed by a unit"],
    [" 1h", "not a number followed by a unit"],
    ["1h ", "not a number followed by a unit"],
    ["1d 12h", "not a number followed by a unit"],
    ["10", "not a number followed by a unit"],
    ["h", "not a number followed by a unit"],
    ["1s", "not a number followed by a unit"],
    ["1y", "not a number followed by a unit"],
    ["123456789h", "not a number followed by a unit"],
    ["1h2h", "the unit 'h' appears more than once"],
    ["1H2h", "the unit 'h' appears more than once"],
    ["99999999w", "longer than the maximum"],
    ["1h\n", "not a number followed by a unit"],
    ["1h".repeat(30), "not a number followed by a unit"],
  ])("rejects %j: %s", (text, reason) => {
    expect(() => parseDuration(text)).toThrow(DurationError);
    expect(() => parseDuration(text)).toThrow(reason);
  });

  it("tells the user which format to use", () => {
    expect(() => parseDuration("soon")).toThrow(/'soon' is not a valid duration.*for example 30m, 36h, 2d/);
  });

  it("does not echo more than 60 characters of the input", () => {
    const error = catchError(() => parseDuration("x".repeat(500)));
    expect(error.message).toContain(`'${"x".repeat(60)}…'`);
    expect(error.message).not.toContain("x".repeat(61));
  });

  it("accepts the maximum duration and nothing longer", () => {
    const weeks = MAX_DURATION_MS / (7 * DAY);
    expect(parseDuration(`${weeks}w`)).toBe(MAX_DURATION_MS);
    expect(() => parseDuration(`${weeks}w1m`)).toThrow(DurationError);
  });
});

describe("formatDuration", () => {
  it.each([
    [3 * DAY, "3d"],
    [36 * HOUR, "1d 12h"],
    [45 * MINUTE, "45m"],
    [DAY + 2 * HOUR + 3 * MINUTE, "1d 2h 3m"],
    [7 * DAY, "7d"],
    [HOUR + 59_999, "1h"],
    [59_999, "0m"],
    [0, "0m"],
    [-2 * HOUR, "-2h"],
  ])("formats %d ms as %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("rejects a non-finite number", () => {
    expect(() => formatDuration(Number.NaN)).toThrow(RangeError);
  });

  it.each(["30m", "36h", "2d", "1w", "1d12h"])(
    "formats a parsed %s back to the same length of time",
    (text) => {
      expect(parseDuration(formatDuration(parseDuration(text)).replace(/ /g, ""))).toBe(parseDuration(text));
    },
  );
});

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a throw");
}
