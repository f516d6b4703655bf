// When an environment should sleep or wake, from the repo's `sleep` settings: after idle time
// (no push or command), and/or outside awake hours in a time zone. Pure: the clock is an argument.
// Applying the decision is sleep.ts.
import { parseDuration } from "../config/duration.js";
import type { RepoConfig } from "../config/schema.js";

export interface Schedule {
  timezone: string;
  days: string[];
  from: string;
  to: string;
}

export interface SleepPolicy {
  afterMs: number | null;
  schedule: Schedule | null;
}

export type SleepReason = "idle" | "schedule" | "command";

export interface SleepStatus {
  sleeping: boolean;
  reason: SleepReason | null;
  lastActivity: number | null;
}

export function policyOf(config: RepoConfig): SleepPolicy {
  const { after, schedule } = config.sleep;
  return { afterMs: after ? parseDuration(after) : null, schedule: schedule ?? null };
}

export function encodePolicy(p: SleepPolicy): string {
  return JSON.stringify(p);
}

export function decodePolicy(text: string | undefined): SleepPolicy | null {
  if (!text) return null;
  try {
    const raw = JSON.parse(text) as Partial<SleepPolicy>;
    const afterMs = typeof raw.afterMs === "number" && raw.afterMs > 0 ? raw.afterMs : null;
    const s = raw.schedule;
    const schedule =
      s &&
      typeof s.timezone === "string" &&
      Array.isArray(s.days) &&
      typeof s.from === "string" &&
      typeof s.to === "string"
        ? {
            timezone: s.timezone,
            days: s.days.filter((d): d is string => typeof d === "string"),
            from: s.from,
            to: s.to,
          }
        : null;
    return { afterMs, schedule };
  } catch {
    return null;
  }
}

const WEEKDAYS: Record<string, string> = {
  Mon: "mon",
  Tue: "tue",
  Wed: "wed",
  Thu: "thu",
  Fri: "fri",
  Sat: "sat",
  Sun: "sun",
};

/** Whether `now` falls in the schedule's awake hours, in its time zone. */
export function inAwakeHours(s: Schedule, now: Date): boolean {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat("en-US", {
      timeZone: s.timezone,
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    }).formatToParts(now);
  } catch {
    return true; // an unknown zone never puts anything to sleep
  }
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  const day = WEEKDAYS[get("weekday")] ?? "";
  const minutes = Number(get("hour")) * 60 + Number(get("minute"));
  const [fh, fm] = s.from.split(":").map(Number);
  const [th, tm] = s.to.split(":").map(Number);
  const from = (fh ?? 0) * 60 + (fm ?? 0);
  const to = (th ?? 0) * 60 + (tm ?? 0);
  const inWindow = from <= to ? minutes >= from && minutes < to : minutes >= from || minutes < to;
  return s.days.includes(day) && inWindow;
}

/**
 * What to do now: sleep (with the reason), wake, or nothing. A sleep by command or for idleness
 * lasts until a push or `/env wake`; a scheduled sleep also ends when the awake hours begin.
 */
export function sleepDecision(
  policy: SleepPolicy,
  status: SleepStatus,
  now: Date,
): { action: "sleep"; reason: SleepReason } | { action: "wake" } | null {
  const awake = policy.schedule ? inAwakeHours(policy.schedule, now) : true;
  if (status.sleeping) {
    return status.reason === "schedule" && awake ? { action: "wake" } : null;
  }
  if (!awake) return { action: "sleep", reason: "schedule" };
  if (
    policy.afterMs !== null &&
    status.lastActivity !== null &&
    now.getTime() - status.lastActivity >= policy.afterMs
  ) {
    return { action: "sleep", reason: "idle" };
  }
  return null;
}
