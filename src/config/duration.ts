/**
 * Durations as repo owners write them in `.github/prenv.yml` and in `/env extend`: a whole number
 * followed by a unit, optionally several parts, e.g. `30m`, `36h`, `2d`, `1w`, `1d12h`.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

const UNIT_MS: Readonly<Record<string, number>> = { w: WEEK, d: DAY, h: HOUR, m: MINUTE };

/** Longest accepted duration (about ten years), so an expiry computed from it is always a valid date. */
export const MAX_DURATION_MS = 520 * WEEK;

/** Regex source for the accepted syntax (no flags, so it can be reused as a JSON Schema `pattern`). */
export const DURATION_PATTERN = "^(?:[0-9]{1,8}[mhdwMHDW])+$";

const DURATION_RE = new RegExp(DURATION_PATTERN);
const PART_RE = /([0-9]+)([a-z])/g;

/** The format hint shown to users whenever a duration is rejected. */
export const DURATION_FORMAT_HINT =
  "Use a whole number followed by m (minutes), h (hours), d (days) or w (weeks), without spaces, " +
  "for example 30m, 36h, 2d, 1w or 1d12h.";

/** A duration string that cannot be used. `message` is safe to show to the user who wrote it. */
export class DurationError extends Error {
  override readonly name = "DurationError";
  /** What is wrong, without the format hint (e.g. "must be longer than zero"). */
  readonly reason: string;

  constructor(input: string, reason: string) {
    super(`'${preview(input)}' is not a valid duration: ${reason}. ${DURATION_FORMAT_HINT}`);
    this.reason = reason;
  }
}

/**
 * Parses a duration such as `30m`, `36h`, `2d`, `1w` or `1d12h` into milliseconds. Units are
 * case-insensitive; each unit may appear once; every part must be a positive whole number of at most
 * 8 digits.
 *
 * @throws DurationError when `text` is not such a duration.
 */
export function parseDuration(text: string): number {
  if (typeof text !== "string" || text.length === 0) {
    throw new DurationError(typeof text === "string" ? text : "", "it is empty");
  }
  if (text.length > 40 || !DURATION_RE.test(text)) {
    throw new DurationError(text, "it is not a number followed by a unit");
  }
  const seen = new Set<string>();
  let total = 0;
  for (const [, digits = "", rawUnit = ""] of text.toLowerCase().matchAll(PART_RE)) {
    if (seen.has(rawUnit)) throw new DurationError(text, `the unit '${rawUnit}' appears more than once`);
    seen.add(rawUnit);
    const amount = Number(digits);
    if (amount === 0) throw new DurationError(text, "every part must be greater than zero");
    total += amount * (UNIT_MS[rawUnit] ?? 0);
  }
  if (total > MAX_DURATION_MS) {
    throw new DurationError(text, `it is longer than the maximum of ${formatDuration(MAX_DURATION_MS)}`);
  }
  return total;
}

/**
 * Formats milliseconds for humans with days, hours and minutes, largest first, skipping zero parts:
 * `3d`, `1d 12h`, `45m`. Rounds down to whole minutes; anything under a minute is `0m`. Negative
 * durations get a leading `-`.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`formatDuration needs a finite number, got ${ms}`);
  const sign = ms < 0 ? "-" : "";
  let minutes = Math.floor(Math.abs(ms) / MINUTE);
  const parts: string[] = [];
  for (const [unit, size] of [
    ["d", DAY / MINUTE],
    ["h", HOUR / MINUTE],
    ["m", 1],
  ] as const) {
    const count = Math.floor(minutes / size);
    minutes -= count * size;
    if (count > 0) parts.push(`${count}${unit}`);
  }
  return parts.length === 0 ? "0m" : sign + parts.join(" ");
}

/** At most 60 characters of the user's text, with control characters made visible. */
function preview(text: string): string {
  // eslint-disable-next-line no-control-regex
  const shown = text.replace(/[\u0000-\u001f\u007f]/g, "?");
  return shown.length > 60 ? `${shown.slice(0, 60)}…` : shown;
}
