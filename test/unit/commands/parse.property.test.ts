// Property tests: parseCommands reads untrusted comment bodies. It must never throw, must accept
// exactly what the grammar in src/commands/parse.ts describes, and must stay silent on comments that
// do not mention /env.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  MAX_COMMANDS,
  mentionsCommand,
  parseCommands,
  type Command,
  type ParseCommandsResult,
} from "../../../src/commands/parse.js";
import { renderCommand } from "../../support/commands.js";

const MINUTE = 60_000;
const UNIT_MS = { w: 7 * 24 * 60 * MINUTE, d: 24 * 60 * MINUTE, h: 60 * MINUTE, m: MINUTE } as const;
const MAX_MINUTES = 520 * 7 * 24 * 60;

const KINDS = ["extend", "status", "redeploy", "destroy", "sleep", "wake", "deploy", "help"] as const;
type NoArgumentKind = Exclude<Command["kind"], "extend" | "deploy">;
const NO_ARGUMENT_KINDS = KINDS.filter(
  (kind): kind is NoArgumentKind => kind !== "extend" && kind !== "deploy",
);
const commitPrefix = fc.string({
  unit: fc.constantFrom(..."0123456789abcdefABCDEF"),
  minLength: 7,
  maxLength: 40,
});

/** A line of the comment together with what it must parse to. */
interface Sample {
  text: string;
  command: Command;
}

const join = (parts: readonly string[]): string => parts.join("");

/** `word` with each letter upper- or lower-cased at random. */
function anyCase(word: string): fc.Arbitrary<string> {
  return fc
    .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((upper) => [...word].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(""));
}

const indent = fc.array(fc.constantFrom(" ", "\t"), { maxLength: 3 }).map(join);
const blank = fc.constantFrom(" ", "\t", "\u00a0", "\u3000");
const blanks = fc.array(blank, { minLength: 1, maxLength: 4 }).map(join);
const trailing = fc.array(blank, { maxLength: 3 }).map(join);
const lineEnd = fc.constantFrom("\n", "\r\n", "\r");
const envWord = anyCase("/env");

/** A duration in the syntax parseDuration accepts, with its value computed independently. */
const duration: fc.Arbitrary<{ text: string; ms: number }> = fc
  .shuffledSubarray(["w", "d", "h", "m"] as const, { minLength: 1 })
  .chain((units) =>
    fc.tuple(
      ...units.map((unit) =>
        fc.record({
          unit: fc.constantFrom(unit, unit.toUpperCase()),
          amount: fc.integer({ min: 1, max: 60 }),
          zeros: fc.nat(3),
          ms: fc.constant(UNIT_MS[unit]),
        }),
      ),
    ),
  )
  .map((parts) => ({
    text: parts.map((p) => `${"0".repeat(p.zeros)}${p.amount}${p.unit}`).join(""),
    ms: parts.reduce((sum, p) => sum + p.amount * p.ms, 0),
  }));

const noArgumentLine: fc.Arbitrary<Sample> = fc
  .constantFrom(...NO_ARGUMENT_KINDS)
  .chain((kind) =>
    fc
      .tuple(indent, envWord, blanks, anyCase(kind), trailing)
      .map((parts): Sample => ({ text: join(parts), command: { kind } })),
  );

const extendLine: fc.Arbitrary<Sample> = fc
  .tuple(indent, envWord, blanks, anyCase("extend"), fc.option(fc.tuple(blanks, duration)), trailing)
  .map(([ind, env, gap, word, arg, end]) => ({
    text: `${ind}${env}${gap}${word}${arg === null ? "" : arg[0] + arg[1].text}${end}`,
    command: { kind: "extend", durationMs: arg === null ? null : arg[1].ms },
  }));

const deployLine: fc.Arbitrary<Sample> = fc
  .tuple(indent, envWord, blanks, anyCase("deploy"), fc.option(fc.tuple(blanks, commitPrefix)), trailing)
  .map(([ind, env, gap, word, arg, end]) => ({
    text: `${ind}${env}${gap}${word}${arg === null ? "" : arg[0] + arg[1]}${end}`,
    command: { kind: "deploy", sha: arg === null ? null : arg[1].toLowerCase() },
  }));

const validLine: fc.Arbitrary<Sample> = fc.oneof(noArgumentLine, extendLine, deployLine);

/** A word of anything but blanks, line ends and HTML comment openers (which would hide the rest). */
const word = fc
  .string({ minLength: 1, maxLength: 12, unit: "binary" })
  .filter((w) => !/\s/.test(w) && !w.includes("<!--"));

const asciiLowerCase = (text: string): string => text.replace(/[A-Z]/g, (c) => c.toLowerCase());
const DURATION_SYNTAX = /^(?:[0-9]{1,8}[mhdw])+$/i;

const notADuration = fc.oneof(
  word.filter((w) => !DURATION_SYNTAX.test(w)),
  fc.tuple(duration, fc.constantFrom("s", "y", ".", "!", "-", "x")).map(([d, c]) => d.text + c),
  fc.tuple(fc.constantFrom("+", "-", ".", "0.5", "h"), duration).map(([c, d]) => c + d.text),
  fc.constantFrom("0m", "1d0h", "1h1H", "999999999m", "99999999w", "1.5h", "½h", "１h"),
);

/** Lines that start like an /env command but break the grammar. */
const malformedLine: fc.Arbitrary<string> = fc.oneof(
  // bare /env
  fc.tuple(indent, envWord, trailing).map(join),
  // an unknown subcommand
  fc
    .tuple(
      indent,
      envWord,
      blanks,
      word.filter((w) => !(KINDS as readonly string[]).includes(asciiLowerCase(w))),
    )
    .map(join),
  // something after a command that takes nothing
  fc
    .tuple(noArgumentLine, blanks, word, trailing)
    .map(([s, gap, w, end]) => s.text.trimEnd() + gap + w + end),
  // a bad duration
  fc.tuple(indent, envWord, blanks, anyCase("extend"), blanks, notADuration, trailing).map(join),
  // two arguments to extend
  fc
    .tuple(indent, envWord, blanks, anyCase("extend"), blanks, duration, blanks, word)
    .map(([ind, env, g1, ext, g2, d, g3, w]) => ind + env + g1 + ext + g2 + d.text + g3 + w),
);

/** Lines that start with /env glued to another word: not commands at all. */
const gluedLine: fc.Arbitrary<string> = fc
  .tuple(indent, envWord, word, fc.option(fc.tuple(blanks, word)))
  .map(([ind, env, w, more]) => ind + env + w + (more === null ? "" : more[0] + more[1]));

/** Prose that never mentions /env and never opens a fence, a quote or an HTML comment. */
const prose = fc
  .string({ maxLength: 40, unit: fc.constantFrom(..."abcENV /.,!?-_#*+()0123456789") })
  .filter((text) => !text.toLowerCase().includes("/env"));

/** The first command of each kind, in order. */
function dedupe(list: readonly Command[]): Command[] {
  const firsts = new Map<string, Command>();
  for (const command of list) if (!firsts.has(command.kind)) firsts.set(command.kind, command);
  return [...firsts.values()];
}

/** The lines, some after a line of prose, each ended by one of `ends` in turn. */
function comment(lines: readonly string[], fillers: readonly string[], ends: readonly string[]): string {
  return lines.map((line, i) => `${fillers[i] ?? ""}${line}${ends[i % ends.length] ?? "\n"}`).join("");
}

const fillers = fc.array(
  fc.oneof(
    fc.constant(""),
    prose.map((p) => `${p}\n`),
  ),
  { maxLength: 12 },
);
const ends = fc.array(lineEnd, { minLength: 1, maxLength: 12 });

function expectWellFormed(result: ParseCommandsResult): void {
  switch (result.kind) {
    case "none":
      expect(Object.keys(result)).toEqual(["kind"]);
      return;
    case "commands":
      expect(result.commands.length).toBeGreaterThan(0);
      expect(new Set(result.commands.map((c) => c.kind)).size).toBe(result.commands.length);
      return;
    case "malformed":
      expect(result.line.length).toBeLessThanOrEqual(80);
      expect(result.line).toBe(result.line.trim());
      expect(result.reason.length).toBeGreaterThan(0);
      expect(result.reason.length).toBeLessThan(400);
      return;
    default:
      throw new Error(`unexpected result ${JSON.stringify(result)}`);
  }
}

/** What the malformed result should report for a line: trimmed, cut to 80 characters. */
function reported(line: string): string {
  const trimmed = line.trim();
  return trimmed.length <= 80 ? trimmed : trimmed.slice(0, 78);
}

describe("parseCommands on arbitrary input", () => {
  const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
  const markdownish = fc.oneof(
    validLine.map((s) => s.text),
    malformedLine,
    gluedLine,
    prose,
    fc.constantFrom(
      "```",
      "~~~",
      "````js",
      "```a`",
      "> ",
      ">",
      "<!--",
      "-->",
      "<!-->",
      "    ",
      "\t",
      "/env",
      "/",
    ),
    fc.string({ unit: anyCodeUnit, maxLength: 20 }),
  );
  /** `text`, sometimes after the start of a command, a fence or a comment so that it is read as one. */
  const afterAnyPrefix = (text: fc.Arbitrary<string>): fc.Arbitrary<string> =>
    fc
      .tuple(fc.constantFrom("", "", "/env ", "/env extend ", " /ENV\t", "```\n", "<!--", "> "), text)
      .map(join);
  const lineBreak = fc.constantFrom("\n", "\r\n", "\r", "\u2028", "\u2029", "\u0000", "", " ");

  it.each([
    ["strings of printable characters", afterAnyPrefix(fc.string({ maxLength: 300, size: "medium" }))],
    [
      "strings of any code point",
      afterAnyPrefix(fc.string({ unit: "binary", maxLength: 300, size: "medium" })),
    ],
    [
      "strings of any UTF-16 code unit, lone surrogates included",
      afterAnyPrefix(fc.string({ unit: anyCodeUnit, maxLength: 300, size: "medium" })),
    ],
    [
      "Markdown-like lines and fragments",
      fc.array(fc.tuple(markdownish, lineBreak), { maxLength: 30 }).map((parts) => parts.flat().join("")),
    ],
  ])("never throws and answers a well-formed result for %s", (_name, body) => {
    fc.assert(
      fc.property(body, (text) => {
        expectWellFormed(parseCommands(text));
      }),
      { numRuns: 1000 },
    );
  });
});

describe("mentionsCommand, the webhook's filter", () => {
  it("lets through every comment parseCommands would answer", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            validLine.map((s) => s.text),
            malformedLine,
            fc.string({ maxLength: 40 }),
          ),
          {
            maxLength: 8,
          },
        ),
        lineEnd,
        (lines, end) => {
          const body = lines.join(end);
          if (parseCommands(body).kind !== "none") expect(mentionsCommand(body)).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("parseCommands accepts exactly the grammar", () => {
  it("reads a comment of valid command lines among prose, collapsing repeats", () => {
    fc.assert(
      fc.property(
        fc.array(validLine, { minLength: 1, maxLength: MAX_COMMANDS }),
        fillers,
        ends,
        (samples, filler, end) => {
          const body = comment(
            samples.map((s) => s.text),
            filler,
            end,
          );
          expect(parseCommands(body)).toEqual({
            kind: "commands",
            commands: dedupe(samples.map((s) => s.command)),
          });
        },
      ),
      { numRuns: 500 },
    );
  });

  it("rejects a comment with one line that breaks the grammar, reporting that line", () => {
    fc.assert(
      fc.property(
        fc.array(validLine, { maxLength: MAX_COMMANDS - 1 }),
        malformedLine,
        fc.nat(),
        fillers,
        ends,
        (samples, bad, at, filler, end) => {
          const lines = samples.map((s) => s.text);
          lines.splice(at % (lines.length + 1), 0, bad);
          const result = parseCommands(comment(lines, filler, end));
          expect(result.kind).toBe("malformed");
          if (result.kind !== "malformed") return;
          expect(result.line.startsWith(reported(bad))).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("treats /env glued to another word as text, not a command", () => {
    fc.assert(
      fc.property(
        fc.array(gluedLine, { minLength: 1, maxLength: 5 }),
        fillers,
        ends,
        (glued, filler, end) => {
          expect(parseCommands(comment(glued, filler, end))).toEqual({ kind: "none" });
        },
      ),
      { numRuns: 500 },
    );
  });

  it(`rejects more than ${MAX_COMMANDS} command lines`, () => {
    fc.assert(
      fc.property(fc.array(validLine, { minLength: MAX_COMMANDS + 1, maxLength: 30 }), (samples) => {
        const result = parseCommands(samples.map((s) => s.text).join("\n"));
        expect(result).toMatchObject({ kind: "malformed", line: reported(samples[MAX_COMMANDS]!.text) });
      }),
      { numRuns: 200 },
    );
  });

  it("ignores anything, valid or not, inside fences, quotes and HTML comments", () => {
    const hiddenLine = fc.oneof(
      validLine.map((s) => s.text),
      malformedLine.filter((line) => !line.includes("-->")),
      prose,
    );
    const hidden = fc.tuple(
      fc.constantFrom("fence", "tildes", "quote", "comment", "inline-comment"),
      fc.array(hiddenLine, { minLength: 1, maxLength: 4 }),
    );
    const wrap = ([how, lines]: [string, string[]]): string => {
      if (how === "fence") return ["```sh", ...lines, "```"].join("\n");
      if (how === "tildes") return ["~~~~", ...lines, "~~~~~"].join("\n");
      if (how === "quote") return lines.map((line) => `> ${line}`).join("\n");
      if (how === "comment") return ["<!--", ...lines, "-->"].join("\n");
      return lines.map((line) => `<!-- ${line} -->`).join("\n");
    };
    fc.assert(
      fc.property(fc.array(fc.oneof(validLine, hidden), { maxLength: 2 * MAX_COMMANDS }), (parts) => {
        const visible: Sample[] = [];
        const shown: string[] = [];
        for (const part of parts) {
          if (Array.isArray(part)) shown.push(wrap(part));
          else if (visible.length < MAX_COMMANDS) {
            visible.push(part);
            shown.push(part.text);
          }
        }
        const body = shown.join("\n");
        const commands = dedupe(visible.map((s) => s.command));
        expect(parseCommands(body)).toEqual(
          commands.length === 0 ? { kind: "none" } : { kind: "commands", commands },
        );
      }),
      { numRuns: 500 },
    );
  });
});

describe("parseCommands without /env", () => {
  const nearMisses = fc
    .array(
      fc.constantFrom(
        "/",
        "e",
        "n",
        "v",
        "E",
        "N",
        "V",
        "/en",
        "nv",
        "env",
        " ",
        "\t",
        "\n",
        "\r\n",
        "> ",
        "```",
      ),
      { maxLength: 60 },
    )
    .map(join);

  it.each([
    ["near misses of /env", nearMisses],
    ["arbitrary strings", fc.string({ unit: "binary", maxLength: 200 })],
  ])("stays silent on %s", (_name, body) => {
    fc.assert(
      fc.property(
        body.filter((text) => !text.toLowerCase().includes("/env")),
        (text) => {
          expect(parseCommands(text)).toEqual({ kind: "none" });
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("renderCommand", () => {
  const anyCommand: fc.Arbitrary<Command> = fc.oneof(
    fc.constantFrom(...NO_ARGUMENT_KINDS).map((kind: NoArgumentKind): Command => ({ kind })),
    fc.option(commitPrefix).map((sha): Command => ({ kind: "deploy", sha: sha?.toLowerCase() ?? null })),
    fc.option(fc.integer({ min: 1, max: MAX_MINUTES })).map((minutes): Command => ({
      kind: "extend",
      durationMs: minutes === null ? null : minutes * MINUTE,
    })),
  );

  it("writes every command so that it reads back as itself", () => {
    fc.assert(
      fc.property(anyCommand, (command) => {
        expect(parseCommands(renderCommand(command))).toEqual({ kind: "commands", commands: [command] });
      }),
      { numRuns: 1000 },
    );
  });

  it("writes every command parsed from a comment so that it reads back as itself", () => {
    fc.assert(
      fc.property(fc.array(validLine, { minLength: 1, maxLength: MAX_COMMANDS }), (samples) => {
        const result = parseCommands(samples.map((s) => s.text).join("\n"));
        expect(result.kind).toBe("commands");
        if (result.kind !== "commands") return;
        for (const command of result.commands) {
          expect(parseCommands(renderCommand(command))).toEqual({ kind: "commands", commands: [command] });
        }
        const all = result.commands.map(renderCommand).join("\n");
        expect(parseCommands(all)).toEqual(result);
      }),
      { numRuns: 500 },
    );
  });
});
