// Writing `/env` commands, the inverse of src/commands/parse.ts: tests build comment bodies from
// commands with it (prenv itself never writes a command but the one approval line).
import type { Command } from "../../src/commands/parse.js";

const MINUTE = 60_000;
const RENDER_UNITS: ReadonlyArray<readonly [string, number]> = [
  ["w", 7 * 24 * 60 * MINUTE],
  ["d", 24 * 60 * MINUTE],
  ["h", 60 * MINUTE],
  ["m", MINUTE],
];

/**
 * Writes a command the way the help shows it, e.g. `/env extend 1d12h` or `/env status`, such that
 * {@link parseCommands} reads it back as the same command.
 *
 * @throws RangeError when an `extend` duration is not a positive whole number of minutes.
 */
export function renderCommand(command: Command): string {
  if (command.kind === "deploy") return command.sha ? `/env deploy ${command.sha}` : "/env deploy";
  if (command.kind !== "extend" || command.durationMs === null) return `/env ${command.kind}`;
  return `/env extend ${renderDuration(command.durationMs)}`;
}

function renderDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms <= 0 || ms % MINUTE !== 0) {
    throw new RangeError(`an /env extend duration must be a positive whole number of minutes, got ${ms}ms`);
  }
  let rest = ms;
  let text = "";
  for (const [unit, size] of RENDER_UNITS) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0) text += `${count}${unit}`;
  }
  return text;
}
