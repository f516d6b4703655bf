// How a config field is declared: its JSON Schema description and its fix hint, and how a user's
// value is echoed in a problem message.
import { z } from "zod";

/**
 * How to fix a field, in words a repo owner can act on. parse.ts shows it next to any problem with
 * that field. It lives in its own registry so it stays out of the generated JSON Schema.
 */
export const fixHints = z.registry<{ fix: string }>();

/** A field: its JSON Schema description (for the repo owner reading their editor) and its fix hint. */
export function field<T extends z.ZodType>(schema: T, description: string, fix: string): T {
  const described = schema.describe(description);
  fixHints.add(described, { fix });
  return described;
}

/** The longest echoed user value, so a problem message never reposts a huge value. */
export const MAX_ECHO = 60;

/**
 * A user's value as it may appear in a problem message: strings quoted, cut to 60 characters, control
 * characters replaced and `@` defused so an echoed value never mentions anyone on GitHub; other values
 * described by kind. Never throws.
 */
export function echo(value: unknown): string {
  if (typeof value === "string") {
    const cleaned = value
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, "?")
      .replace(/`/g, "'")
      .replace(/@/g, "@\u200b");
    return `'${cleaned.length > MAX_ECHO ? `${cleaned.slice(0, MAX_ECHO)}…` : cleaned}'`;
  }
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    return String(value).slice(0, MAX_ECHO);
  }
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `a ${typeof value}`;
}
