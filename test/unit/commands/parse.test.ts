import { describe, expect, it } from "vitest";
import {
  codeSpan,
  COMMAND_HELP,
  MAX_COMMANDS,
  MAX_COMMENT_LENGTH,
  parseCommands,
  type Command,
} from "../../../src/commands/parse.js";
import { renderCommand } from "../../support/commands.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function commands(...list: Command[]) {
  return { kind: "commands", commands: list };
}

const NONE = { kind: "none" };

describe("parseCommands reads each command", () => {
  it.each<[string, Command]>([
    ["/env extend", { kind: "extend", durationMs: null }],
    ["/env extend 2d", { kind: "extend", durationMs: 2 * DAY }],
    ["/env status", { kind: "status" }],
    ["/env redeploy", { kind: "redeploy" }],
    ["/env destroy", { kind: "destroy" }],
    ["/env sleep", { kind: "sleep" }],
    ["/env wake", { kind: "wake" }],
    ["/env deploy", { kind: "deploy", sha: null }],
    ["/env deploy 3F2A9C1", { kind: "deploy", sha: "3f2a9c1" }],
    ["/env deploy " + "ab".repeat(20), { kind: "deploy", sha: "ab".repeat(20) }],
    ["/env help", { kind: "help" }],
  ])("%j", (body, command) => {
    expect(parseCommands(body)).toEqual(commands(command));
  });
});

describe("parseCommands reads the commit an /env deploy approves", () => {
  it.each([
    ["too short", "/env deploy 3f2a9c"],
    ["too long", `/env deploy ${"a".repeat(41)}`],
    ["not hexadecimal", "/env deploy 3f2a9cz"],
    ["a branch name", "/env deploy main"],
    ["two commits", "/env deploy 3f2a9c1 4b3c2d1"],
  ])("refuses %s", (_why, body) => {
    const result = parseCommands(body);
    expect(result.kind).toBe("malformed");
    expect(result.kind === "malformed" && result.reason).toMatch(/7 to 40 hexadecimal digits/);
  });
});

describe("parseCommands is case-insensitive and tolerant of blanks", () => {
  it.each<[string, Command]>([
    ["/ENV STATUS", { kind: "status" }],
    ["/Env Status", { kind: "status" }],
    ["/eNv wAkE", { kind: "wake" }],
    ["/env EXTEND 2D", { kind: "extend", durationMs: 2 * DAY }],
    ["/ENV Extend 1D12h", { kind: "extend", durationMs: 36 * HOUR }],
    [" /env status", { kind: "status" }],
    ["   /env status", { kind: "status" }],
    ["\t/env status", { kind: "status" }],
    [" \t /env status", { kind: "status" }],
    ["/env status   ", { kind: "status" }],
    ["/env status\t", { kind: "status" }],
    ["/env    status", { kind: "status" }],
    ["/env\tstatus", { kind: "status" }],
    ["/env \t extend \t 36h  ", { kind: "extend", durationMs: 36 * HOUR }],
    ["/env\u00a0status", { kind: "status" }],
    ["/env status\u2028", { kind: "status" }],
  ])("%j", (body, command) => {
    expect(parseCommands(body)).toEqual(commands(command));
  });

  it.each([
    ["four spaces (an indented code block)", "    /env destroy"],
    ["four tabs", "\t\t\t\t/env destroy"],
    ["a mix of four spaces and tabs", " \t \t/env destroy"],
  ])("ignores a line indented by %s", (_name, body) => {
    expect(parseCommands(body)).toEqual(NONE);
  });
});

describe("parseCommands reads durations", () => {
  it.each([
    ["30m", 30 * MINUTE],
    ["36h", 36 * HOUR],
    ["2d", 2 * DAY],
    ["1w", 7 * DAY],
    ["1d12h", 36 * HOUR],
    ["12h1d", 36 * HOUR],
    ["1W2D3H4M", 9 * DAY + 3 * HOUR + 4 * MINUTE],
  ])("/env extend %s", (duration, ms) => {
    expect(parseCommands(`/env extend ${duration}`)).toEqual(commands({ kind: "extend", durationMs: ms }));
  });
});

describe("parseCommands finds commands anywhere in the comment, at the start of a line", () => {
  it.each<[string, string, Command[]]>([
    ["after prose", "Thanks, looks good!\n\n/env status", [{ kind: "status" }]],
    ["before prose", "/env destroy\nWe are done here.", [{ kind: "destroy" }]],
    ["between prose", "Hi.\n/env wake\nBye.", [{ kind: "wake" }]],
    [
      "on several lines",
      "/env deploy\ntext\n/env status",
      [{ kind: "deploy", sha: null }, { kind: "status" }],
    ],
    ["with \\r\\n line ends", "Hi\r\n/env sleep\r\n/env status\r\n", [{ kind: "sleep" }, { kind: "status" }]],
    ["with \\r line ends", "Hi\r/env sleep\r/env status", [{ kind: "sleep" }, { kind: "status" }]],
    ["after a closed code fence", "```\ncode\n```\n/env status", [{ kind: "status" }]],
    ["after a quote", "> earlier words\n\n/env status", [{ kind: "status" }]],
    ["on the line after a quote", "> /env destroy\n/env status", [{ kind: "status" }]],
  ])("%s", (_name, body, expected) => {
    expect(parseCommands(body)).toEqual(commands(...expected));
  });

  it.each([
    ["in the middle of a line", "Please run /env destroy now"],
    ["after a list marker", "- /env destroy"],
    ["after a heading marker", "# /env destroy"],
    ["in inline code", "`/env destroy`"],
    ["without the slash", "env destroy"],
    ["with two slashes", "//env destroy"],
    ["after a backslash", "\\/env destroy"],
    ["in an empty comment", ""],
    ["in blank lines", "\n\r\n  \t\n"],
  ])("ignores a command %s", (_name, body) => {
    expect(parseCommands(body)).toEqual(NONE);
  });
});

describe("parseCommands ignores commands others wrote or showed as examples", () => {
  it.each([
    ["a backtick fence", "```\n/env destroy\n```"],
    ["a tilde fence", "~~~\n/env destroy\n~~~"],
    ["a fence with an info string", "```sh\n/env destroy\n```"],
    ["an indented fence", "   ```\n/env destroy\n   ```"],
    ["a long fence not closed by a shorter one", "`````\n/env destroy\n```\n/env destroy\n`````"],
    ["a tilde fence not closed by backticks", "~~~\n```\n/env destroy\n~~~"],
    ["a backtick fence not closed by a fence with text after it", "```\n``` sh\n/env destroy\n```"],
    ["an unclosed fence, to the end of the comment", "text\n```\n/env destroy\n/env status"],
    ["a quote", "> /env destroy"],
    ["a quote without a space", ">/env destroy"],
    ["an indented quote", "   > /env destroy"],
    ["a nested quote", ">> /env destroy"],
    ["a quoted fence", "> ```\n> /env destroy\n> ```"],
    ["an HTML comment on one line", "<!-- /env destroy -->"],
    ["an HTML comment over lines", "<!--\n/env destroy\n-->"],
    ["an HTML comment opened after text", "Hi <!-- note\n/env destroy\n-->"],
    ["an unclosed HTML comment, to the end", "<!--\n/env destroy\n/env status"],
    ["a second HTML comment on one line", "<!-- a --> <!--\n/env destroy\n-->"],
    ["an HTML comment whose inside looks like a fence", "<!--\n```\n-->\n```\n/env destroy"],
    ["a line indented by four once its HTML comment is cut out", "<!-- note -->    /env destroy"],
  ])("in %s", (_name, body) => {
    expect(parseCommands(body)).toEqual(NONE);
  });

  it.each<[string, string, Command[]]>([
    ["before an HTML comment on its line", "/env status <!-- because -->", [{ kind: "status" }]],
    ["after an HTML comment on its line", "<!-- note --> /env status", [{ kind: "status" }]],
    ["after the end of a multi-line HTML comment", "<!--\nnote\n-->/env status", [{ kind: "status" }]],
    ["after an empty HTML comment `<!-->`", "<!-->\n/env status", [{ kind: "status" }]],
    ["after an empty HTML comment `<!--->`", "<!--->\n/env status", [{ kind: "status" }]],
    [
      "after an HTML comment opener in a fence, which is code",
      "```\n<!--\n```\n/env status",
      [{ kind: "status" }],
    ],
    ["after an HTML comment opener in a quote", "> <!--\n/env status", [{ kind: "status" }]],
    [
      "after a backtick line that is inline code, not a fence",
      "```a`b```\n/env status",
      [{ kind: "status" }],
    ],
    ["after a fence of only two backticks", "``\n/env status\n``", [{ kind: "status" }]],
    [
      "after an indented fence-looking line (code, not a fence)",
      "    ```\n/env status",
      [{ kind: "status" }],
    ],
    ["outside a fence it follows", "/env status\n```\n/env destroy\n```", [{ kind: "status" }]],
  ])("but reads a command %s", (_name, body, expected) => {
    expect(parseCommands(body)).toEqual(commands(...expected));
  });
});

describe("parseCommands treats other words starting with /env as text", () => {
  it.each([
    "/environment",
    "/envy",
    "/envfoo",
    "/envstatus",
    "/env-status",
    "/env:status",
    "/env/status",
    "/env.",
  ])("%j", (body) => {
    expect(parseCommands(`${body}\n/${body}`)).toEqual(NONE);
  });
});

describe("parseCommands rejects a malformed /env line", () => {
  it.each([
    ["/env", "/env", "needs a command"],
    ["/env   ", "/env", "needs a command"],
    ["  /ENV\t", "/ENV", "needs a command"],
    ["/env foo", "/env foo", "`foo` is not a prenv command"],
    ["/env statu", "/env statu", "`statu` is not a prenv command"],
    ["/env status.", "/env status.", "`status.` is not a prenv command"],
    ["/env extend2d", "/env extend2d", "`extend2d` is not a prenv command"],
    ["/env wa\u212ae", "/env wa\u212ae", "is not a prenv command"],
    ["/env st\u0430tus", "/env st\u0430tus", "is not a prenv command"],
    ["/env status now", "/env status now", "`/env status` takes nothing after it"],
    ["/env redeploy please", "/env redeploy please", "`/env redeploy` takes nothing after it"],
    ["/env destroy --force", "/env destroy --force", "`/env destroy` takes nothing after it"],
    ["/env sleep 2h", "/env sleep 2h", "`/env sleep` takes nothing after it"],
    ["/env wake up", "/env wake up", "`/env wake` takes nothing after it"],
    ["/env deploy main", "/env deploy main", "`/env deploy` takes the commit to approve"],
    ["/env help me", "/env help me", "`/env help` takes nothing after it"],
    ["/env extend 2d 3h", "/env extend 2d 3h", "takes at most one duration"],
    ["/env extend 2 d", "/env extend 2 d", "takes at most one duration"],
    ["/env extend soon", "/env extend soon", "`soon` is not a valid duration"],
    ["/env extend 2", "/env extend 2", "not a number followed by a unit"],
    ["/env extend 1s", "/env extend 1s", "not a number followed by a unit"],
    ["/env extend -1h", "/env extend -1h", "not a number followed by a unit"],
    ["/env extend 0h", "/env extend 0h", "greater than zero"],
    ["/env extend 1h2h", "/env extend 1h2h", "appears more than once"],
    ["/env extend 99999999w", "/env extend 99999999w", "longer than the maximum"],
  ])("%j", (body, line, reason) => {
    const result = parseCommands(body);
    expect(result).toMatchObject({ kind: "malformed", line });
    expect(result.kind === "malformed" && result.reason).toContain(reason);
  });

  it("rejects the whole comment and reports the first bad line", () => {
    const body = "/env status\nSome text\n  /env bogus  \n/env nope\n/env wake";
    expect(parseCommands(body)).toEqual({
      kind: "malformed",
      line: "/env bogus",
      reason: "`bogus` is not a prenv command",
    });
  });

  it("reports the line with its HTML comment cut out", () => {
    expect(parseCommands("/env bogus <!-- hidden -->")).toMatchObject({
      kind: "malformed",
      line: "/env bogus",
    });
  });

  it("cuts the reported line to 80 characters without splitting a surrogate pair", () => {
    const long = parseCommands(`   /env ${"x".repeat(200)}   `);
    expect(long).toMatchObject({ kind: "malformed", line: `/env ${"x".repeat(74)}…` });

    const emoji = "😀".repeat(60);
    const result = parseCommands(`/env x${emoji}`);
    expect(result.kind).toBe("malformed");
    const line = result.kind === "malformed" ? result.line : "";
    expect(line).toBe(`/env x${"😀".repeat(36)}…`);
    expect(line).toHaveLength(79);
  });

  it("keeps a short reason for an overlong subcommand", () => {
    const result = parseCommands(`/env ${"y".repeat(5000)}`);
    expect(result.kind === "malformed" && result.reason.length).toBeLessThan(100);
  });
});

describe("parseCommands limits and collapses commands", () => {
  const ten = [
    "deploy",
    "status",
    "extend 1d",
    "sleep",
    "wake",
    "redeploy",
    "help",
    "destroy",
    "status",
    "wake",
  ];

  it(`honours ${MAX_COMMANDS} commands`, () => {
    expect(ten).toHaveLength(MAX_COMMANDS);
    const result = parseCommands(ten.map((c) => `/env ${c}`).join("\n"));
    expect(result.kind).toBe("commands");
  });

  it("rejects an eleventh command, reporting it", () => {
    const body = [...ten, "help"].map((c) => `/env ${c}`).join("\n");
    expect(parseCommands(body)).toEqual({
      kind: "malformed",
      line: "/env help",
      reason: `a comment may hold at most ${MAX_COMMANDS} /env commands`,
    });
  });

  it("counts repeated lines towards the limit", () => {
    expect(parseCommands("/env status\n".repeat(11)).kind).toBe("malformed");
  });

  it("does not count ignored lines towards the limit", () => {
    const body = "> /env status\n".repeat(20) + "/env status\n".repeat(10);
    expect(parseCommands(body)).toEqual(commands({ kind: "status" }));
  });

  it.each<[string, string, Command[]]>([
    ["identical lines", "/env status\n/env status", [{ kind: "status" }]],
    ["case variants", "/env STATUS\n/Env status", [{ kind: "status" }]],
    [
      "extends with different durations, keeping the first",
      "/env extend 1d\n/env extend 2d\n/env extend",
      [{ kind: "extend", durationMs: DAY }],
    ],
    [
      "repeats among others, keeping the order of first appearance",
      "/env wake\n/env status\n/env wake\n/env deploy\n/env status",
      [{ kind: "wake" }, { kind: "status" }, { kind: "deploy", sha: null }],
    ],
  ])("collapses %s", (_name, body, expected) => {
    expect(parseCommands(body)).toEqual(commands(...expected));
  });
});

describe("parseCommands on hostile input", () => {
  it(`reads a comment of exactly ${MAX_COMMENT_LENGTH} characters`, () => {
    const body = `/env status\n${"a".repeat(MAX_COMMENT_LENGTH - 12)}`;
    expect(body).toHaveLength(MAX_COMMENT_LENGTH);
    expect(parseCommands(body)).toEqual(commands({ kind: "status" }));
  });

  it("does not read a longer comment, and says so when it holds an /env line", () => {
    const body = `${"a".repeat(MAX_COMMENT_LENGTH)}\r\n  /env status\r\nmore`;
    expect(parseCommands(body)).toEqual({
      kind: "malformed",
      line: "/env status",
      reason: `the comment is longer than ${MAX_COMMENT_LENGTH} characters, so it is not read`,
    });
  });

  it("stays silent on a longer comment without an /env line", () => {
    expect(parseCommands(`/environment\n> x\n${"a".repeat(MAX_COMMENT_LENGTH)}`)).toEqual(NONE);
  });

  it.each([
    ["null bytes", "\u0000/env status\u0000\n/env\u0000wake", NONE],
    ["a null byte after the command", "/env status\u0000", "malformed"],
    ["lone surrogates", "\ud800\n/env status\udc00\n\udfff", "malformed"],
    ["a lone surrogate after a valid command", "/env status\n\ud83d", commands({ kind: "status" })],
    ["\\u2028 between commands (not a line end)", "/env status\u2028/env wake", "malformed"],
    ["\\u2029 before a command", "\u2029/env status", NONE],
  ])("handles %s", (_name, body, expected) => {
    const result = parseCommands(body);
    if (typeof expected === "string") expect(result.kind).toBe(expected);
    else expect(result).toEqual(expected);
  });

  it("answers a body that is not a string as having no commands", () => {
    expect(parseCommands(null as unknown as string)).toEqual(NONE);
    expect(parseCommands(undefined as unknown as string)).toEqual(NONE);
  });
});

describe("renderCommand", () => {
  it.each<[Command, string]>([
    [{ kind: "extend", durationMs: null }, "/env extend"],
    [{ kind: "extend", durationMs: 30 * MINUTE }, "/env extend 30m"],
    [{ kind: "extend", durationMs: 36 * HOUR }, "/env extend 1d12h"],
    [{ kind: "extend", durationMs: 14 * DAY }, "/env extend 2w"],
    [{ kind: "extend", durationMs: 8 * DAY + 1 * HOUR + 1 * MINUTE }, "/env extend 1w1d1h1m"],
    [{ kind: "status" }, "/env status"],
    [{ kind: "redeploy" }, "/env redeploy"],
    [{ kind: "destroy" }, "/env destroy"],
    [{ kind: "sleep" }, "/env sleep"],
    [{ kind: "wake" }, "/env wake"],
    [{ kind: "deploy", sha: null }, "/env deploy"],
    [{ kind: "help" }, "/env help"],
  ])("writes %j as %j, which reads back the same", (command, text) => {
    expect(renderCommand(command)).toBe(text);
    expect(parseCommands(text)).toEqual(commands(command));
  });

  it.each([0, -MINUTE, 1.5 * MINUTE, 1, Number.NaN, Number.POSITIVE_INFINITY])(
    "refuses an extend of %d ms",
    (durationMs) => {
      expect(() => renderCommand({ kind: "extend", durationMs })).toThrow(RangeError);
    },
  );
});

describe("COMMAND_HELP", () => {
  const kinds: Command["kind"][] = [
    "extend",
    "status",
    "redeploy",
    "destroy",
    "sleep",
    "wake",
    "deploy",
    "help",
  ];

  it.each(kinds)("explains /env %s on one line", (kind) => {
    const lines = COMMAND_HELP.split("\n").filter((line) => line.startsWith(`- \`/env ${kind}`));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeGreaterThan(`- \`/env ${kind}\`: `.length + 10);
  });

  it("lists nothing but the commands, and shows the extend argument", () => {
    const items = COMMAND_HELP.split("\n").filter((line) => line.startsWith("- "));
    expect(items).toHaveLength(kinds.length);
    expect(COMMAND_HELP).toContain("`/env extend [duration]`");
  });

  it("states the rules a commenter needs", () => {
    expect(COMMAND_HELP).toMatch(/start of its own line/);
    expect(COMMAND_HELP).toMatch(/quotes, code blocks and HTML comments are ignored/);
    expect(COMMAND_HELP).toContain(`at most ${MAX_COMMANDS}`);
  });
});

// Reasons are posted as Markdown (issue 17: escaped, their backticks showed literally); the
// commenter's text is only ever inside a code span it cannot close.
describe("codeSpan", () => {
  it.each([
    ["soon", "`soon`"],
    ["a`b", "``a`b``"],
    ["`x`@acme", "`` `x`@acme ``"],
    ["a``b`", "``` a``b` ```"],
    ["two\nlines", "`two lines`"],
  ])("%j → %s", (text, span) => {
    expect(codeSpan(text)).toBe(span);
  });
});
