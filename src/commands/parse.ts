/**
 * The `/env` commands people write in pull request comments, read from the untrusted comment body.
 *
 * Grammar (one command per line; everything else in the comment is ignored):
 *
 * ```text
 * command-line = indent "/env" ( blank+ subcommand )? blank* end-of-line
 * indent       = 0 to 3 spaces or tabs (4 or more makes the line an indented code block)
 * subcommand   = "extend" ( blank+ duration )? | "status" | "redeploy" | "destroy"
 *              | "sleep" | "wake" | "deploy" ( blank+ commit )? | "help"
 * duration     = what `parseDuration` accepts: 30m, 36h, 2d, 1w, 1d12h, ...
 * commit       = 7 to 40 hexadecimal digits: the start of the commit SHA being approved
 * blank        = any whitespace character within the line (space, tab, no-break space, ...)
 * ```
 *
 * - `/env` and the subcommand are case-insensitive, in ASCII only (`/ENV Status` is `/env status`; a
 *   Kelvin sign is not a `k`).
 * - Lines end at `\n`, `\r\n` or `\r`, as in Markdown; `\u2028` and `\u2029` are blanks, not line ends.
 * - Ignored, because they show someone else's words or an example rather than a request: lines inside
 *   fenced code blocks (```` ``` ```` or `~~~`, closed by a fence of the same character at least as
 *   long; an unclosed fence runs to the end), quoted lines (starting with `>`), lines indented by 4 or
 *   more, and text inside HTML comments `<!-- ... -->` (which may span lines; text before and after
 *   the comment on its first and last line is still read).
 * - A line is an `/env` line when `/env` is followed by a blank or the end of the line: `/environment`,
 *   `/envy` and `/envfoo` are other words and are ignored, like any other text.
 * - Every `/env` line must be a complete command; otherwise the whole comment is malformed and the
 *   first bad line is reported: a bare `/env`, an unknown subcommand, arguments to a command that takes
 *   none, a second argument to `extend`, or a duration `parseDuration` rejects.
 * - At most {@link MAX_COMMANDS} `/env` lines per comment; more makes the comment malformed. Repeats of
 *   a command (same kind, whatever the arguments) are collapsed, keeping the first.
 * - A comment longer than {@link MAX_COMMENT_LENGTH} UTF-16 code units (more than GitHub allows) is not
 *   read: it is malformed if a line in it starts like an `/env` line, and has no commands otherwise.
 *
 * Pure domain code: no I/O, never throws for any string.
 */
import { DURATION_FORMAT_HINT, DurationError, parseDuration } from "../config/duration.js";

export type Command =
  | { kind: "extend"; durationMs: number | null }
  | { kind: "status" }
  | { kind: "redeploy" }
  | { kind: "destroy" }
  | { kind: "sleep" }
  | { kind: "wake" }
  /** `sha`: the lowercase start (7-40 hex digits) of the commit approved; null: none named. */
  | { kind: "deploy"; sha: string | null }
  | { kind: "help" };

export type CommandKind = Command["kind"];

export type ParseCommandsResult =
  /** No `/env` line at all: the bot stays silent. */
  | { kind: "none" }
  /** Every `/env` line was a valid command; repeats collapsed, in the order written. */
  | { kind: "commands"; commands: Command[] }
  /** Some `/env` line is wrong: the bot answers with {@link COMMAND_HELP}. */
  | {
      kind: "malformed";
      /** The offending line, trimmed, at most {@link MAX_LINE_PREVIEW} characters. */
      line: string;
      /**
       * What is wrong, as Markdown to post as it is: prenv's words, and the commenter's text only
       * inside code spans (see {@link codeSpan}), so nothing of theirs is rendered or mentions anyone.
       */
      reason: string;
    };

/** Most `/env` lines honoured in one comment. */
export const MAX_COMMANDS = 10;

/** Longest comment read, in UTF-16 code units; GitHub's own limit for a comment body is 65,536. */
export const MAX_COMMENT_LENGTH = 65_536;

/** Longest `line` in a malformed result. */
export const MAX_LINE_PREVIEW = 80;

interface CommandSpec {
  kind: CommandKind;
  usage: string;
  summary: string;
}

/** Every command, in the order the help lists them. */
const SPECS: readonly CommandSpec[] = [
  {
    kind: "deploy",
    usage: "/env deploy <commit>",
    summary:
      "Approve the named commit (its SHA, at least 7 characters) of a pull request from a fork or from an " +
      "author without write access for deployment; prenv's comment shows the exact command.",
  },
  { kind: "redeploy", usage: "/env redeploy", summary: "Deploy the pull request's latest commit again." },
  { kind: "status", usage: "/env status", summary: "Show the environment's state, address and expiry." },
  {
    kind: "extend",
    usage: "/env extend [duration]",
    summary:
      "Keep the environment for longer: by `duration` such as `2d`, `36h` or `1d12h`, or by the " +
      "repository's default when it is left out.",
  },
  { kind: "sleep", usage: "/env sleep", summary: "Scale the environment down to nothing until it is woken." },
  { kind: "wake", usage: "/env wake", summary: "Bring a sleeping environment back up." },
  { kind: "destroy", usage: "/env destroy", summary: "Delete the environment now." },
  { kind: "help", usage: "/env help", summary: "Show this help." },
];

const KINDS: ReadonlyMap<string, CommandKind> = new Map(SPECS.map((spec) => [spec.kind, spec.kind]));

/** Markdown help, posted in answer to `/env help` and to malformed commands. */
export const COMMAND_HELP: string = [
  "**prenv commands**: write each one at the start of its own line in a pull request comment.",
  "",
  ...SPECS.map((spec) => `- \`${spec.usage}\`: ${spec.summary}`),
  "",
  `Commands in quotes, code blocks and HTML comments are ignored; at most ${MAX_COMMANDS} are read ` +
    "per comment, and a command written twice runs once.",
].join("\n");

/**
 * Whether `body` has a line that starts like an `/env` command: the webhook's filter (no job for
 * other comments). parseCommands reads nothing from a body for which this is false.
 */
export function mentionsCommand(body: string): boolean {
  return COMMAND_LINE_ANYWHERE.test(body);
}

/** Reads the `/env` commands in a comment body. Never throws. */
export function parseCommands(body: string): ParseCommandsResult {
  if (typeof body !== "string") return { kind: "none" };
  if (body.length > MAX_COMMENT_LENGTH) return tooLong(body);
  const commands: Command[] = [];
  const seen = new Set<CommandKind>();
  let count = 0;
  for (const line of readableLines(body)) {
    const args = commandArguments(line);
    if (args === null) continue;
    count += 1;
    if (count > MAX_COMMANDS) {
      return malformed(line, `a comment may hold at most ${MAX_COMMANDS} /env commands`);
    }
    const parsed = parseArguments(args);
    if (typeof parsed === "string") return malformed(line, parsed);
    if (seen.has(parsed.kind)) continue;
    seen.add(parsed.kind);
    commands.push(parsed);
  }
  return count === 0 ? { kind: "none" } : { kind: "commands", commands };
}

const BLANKS = /\s+/;
const COMMAND_LINE = /^[ \t]{0,3}\/env(?=\s|$)/i;
const COMMAND_LINE_ANYWHERE = /^[ \t]{0,3}\/env(?=\s|$)/im;

/** For an `/env` line, the text after `/env`; `null` for any other line. */
function commandArguments(line: string): string[] | null {
  const match = COMMAND_LINE.exec(line);
  if (match === null) return null;
  return line
    .slice(match[0].length)
    .split(BLANKS)
    .filter((word) => word.length > 0);
}

/** The command the words after `/env` spell, or why they do not spell one. */
function parseArguments(words: readonly string[]): Command | string {
  const [name, ...args] = words;
  if (name === undefined) return "`/env` needs a command after it, for example `/env status`";
  const kind = KINDS.get(asciiLowerCase(name));
  if (kind === undefined) return `${codeSpan(preview(visible(name), 30))} is not a prenv command`;
  if (kind === "extend") return parseExtend(args);
  if (kind === "deploy") return parseDeploy(args);
  if (args.length > 0) return `\`/env ${kind}\` takes nothing after it`;
  return { kind };
}

function parseExtend(args: readonly string[]): Command | string {
  const [duration, ...extra] = args;
  if (duration === undefined) return { kind: "extend", durationMs: null };
  if (extra.length > 0) return "`/env extend` takes at most one duration, such as `2d` or `1d12h`";
  try {
    return { kind: "extend", durationMs: parseDuration(duration) };
  } catch (error) {
    if (error instanceof DurationError) {
      return `${codeSpan(preview(visible(duration), 30))} is not a valid duration: ${error.reason}. ${DURATION_FORMAT_HINT}`;
    }
    throw error;
  }
}

const COMMIT_PREFIX = /^[0-9a-f]{7,40}$/i;

function parseDeploy(args: readonly string[]): Command | string {
  const [sha, ...extra] = args;
  if (sha === undefined) return { kind: "deploy", sha: null };
  if (extra.length > 0 || !COMMIT_PREFIX.test(sha)) {
    return "`/env deploy` takes the commit to approve: 7 to 40 hexadecimal digits of its SHA, such as `/env deploy 3f2a9c1`";
  }
  return { kind: "deploy", sha: asciiLowerCase(sha) };
}

function tooLong(body: string): ParseCommandsResult {
  const match = COMMAND_LINE_ANYWHERE.exec(body);
  if (match === null) return { kind: "none" };
  const start = match.index;
  const end = body.slice(start, start + 4 * MAX_LINE_PREVIEW).search(/[\r\n]/);
  const line = body.slice(start, end === -1 ? start + 4 * MAX_LINE_PREVIEW : start + end);
  return malformed(line, `the comment is longer than ${MAX_COMMENT_LENGTH} characters, so it is not read`);
}

function malformed(line: string, reason: string): ParseCommandsResult {
  return { kind: "malformed", line: preview(line.trim(), MAX_LINE_PREVIEW), reason };
}

/** At most `max` UTF-16 code units of `text`, ending in `…` when cut, never splitting a surrogate pair. */
function preview(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  if (isHighSurrogate(text.charCodeAt(end - 1)) && isLowSurrogate(text.charCodeAt(end))) end -= 1;
  return `${text.slice(0, end)}…`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * `text` as an inline code span whatever it holds: delimited by one backtick more than its longest
 * run of backticks (padded with spaces when it starts or ends with one), on one line.
 */
export function codeSpan(text: string): string {
  const flat = text.replace(/[\r\n]+/g, " ");
  const longest = Math.max(0, ...[...flat.matchAll(/`+/g)].map((m) => m[0].length));
  const bar = "`".repeat(longest + 1);
  const pad = flat.startsWith("`") || flat.endsWith("`") || flat.trim() === "" ? " " : "";
  return `${bar}${pad}${flat}${pad}${bar}`;
}

/** `text` with control characters shown as `?`, for echoing in a reason. */
function visible(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, "?");
}

/** Lower-cases A-Z only, so that no non-ASCII character can turn into a command letter. */
function asciiLowerCase(text: string): string {
  return text.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}

// ---- Which lines are read: Markdown blocks that hide or quote text ----

interface Fence {
  char: "`" | "~";
  length: number;
}

interface ScanState {
  fence: Fence | null;
  inComment: boolean;
}

const LINE_END = /\r\n|\r|\n/;
const INDENT = /^[ \t]*/;
const FENCE_OPEN = /^(`{3,}|~{3,})(.*)$/s;
const FENCE_CLOSE = /^[ \t]{0,3}(`{3,}|~{3,})[ \t]*$/;
const COMMENT_OPEN = "<!--";
const COMMENT_CLOSE = "-->";

/**
 * The lines of `body` that a reader sees as the commenter's own prose: outside fenced code, quotes,
 * indented code and HTML comments (whose text is cut out of the lines they touch).
 */
function* readableLines(body: string): Generator<string> {
  const state: ScanState = { fence: null, inComment: false };
  for (const raw of body.split(LINE_END)) {
    let line = raw;
    if (state.inComment) {
      const close = line.indexOf(COMMENT_CLOSE);
      if (close === -1) continue;
      state.inComment = false;
      line = line.slice(close + COMMENT_CLOSE.length);
    } else if (state.fence !== null) {
      if (closesFence(line, state.fence)) state.fence = null;
      continue;
    }
    const readable = readableText(line, state);
    if (readable !== null) yield readable;
  }
}

/** The readable text of a line outside any fence or comment, or `null` when it is all hidden. */
function readableText(line: string, state: ScanState): string | null {
  const indent = INDENT.exec(line)?.[0].length ?? 0;
  if (indent > 3) return null;
  const content = line.slice(indent);
  if (content.startsWith(">")) return null;
  const fence = openingFence(content);
  if (fence !== null) {
    state.fence = fence;
    return null;
  }
  return withoutComments(line, state);
}

function openingFence(content: string): Fence | null {
  const match = FENCE_OPEN.exec(content);
  const marker = match?.[1];
  if (marker === undefined) return null;
  const char = marker.startsWith("`") ? "`" : "~";
  // A backtick "fence" with a backtick after it is inline code, as in Markdown.
  if (char === "`" && (match?.[2] ?? "").includes("`")) return null;
  return { char, length: marker.length };
}

function closesFence(line: string, fence: Fence): boolean {
  const marker = FENCE_CLOSE.exec(line)?.[1];
  return marker !== undefined && marker.startsWith(fence.char) && marker.length >= fence.length;
}

/** `line` with its HTML comments cut out; an unclosed comment hides the rest and continues below. */
function withoutComments(line: string, state: ScanState): string {
  let kept = "";
  let from = 0;
  for (;;) {
    const open = line.indexOf(COMMENT_OPEN, from);
    if (open === -1) return kept + line.slice(from);
    kept += line.slice(from, open);
    // Searching from the second dash accepts `<!-->` and `<!--->`, which Markdown treats as comments.
    const close = line.indexOf(COMMENT_CLOSE, open + 2);
    if (close === -1) {
      state.inComment = true;
      return kept;
    }
    from = close + COMMENT_CLOSE.length;
  }
}
