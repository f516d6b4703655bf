// A tiny glob matcher for the `filters` section of the repo config (branch names, file paths).
//
// - `*` matches any run of characters except `/`;
// - `**` matches any run of characters including `/`; as a whole path segment followed by `/` it also
//   matches zero segments, so `src/**/*.ts` matches `src/main.ts` as well as `src/a/b.ts`, and
//   `**/*.md` matches `README.md`;
// - `?` matches one character except `/`;
// - everything else matches itself, case-sensitively (no `[...]`, `{a,b}` or `!` negation).
//
// Matching is a dynamic programme over (pattern position, value position), so it takes
// O(pattern × value) time whatever the input: patterns come from repository files and must not be able
// to stall the worker the way a backtracking regex can.

type Token =
  | { kind: "char"; char: string }
  | { kind: "one" }
  | { kind: "star" }
  /** `segments`: this `**` is followed by `/` and may match zero segments, skipping that `/` too. */
  | { kind: "globstar"; segments: boolean };

function tokenize(pattern: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < pattern.length) {
    const char = pattern[i]!;
    if (char === "?") {
      tokens.push({ kind: "one" });
      i += 1;
    } else if (char !== "*") {
      tokens.push({ kind: "char", char });
      i += 1;
    } else {
      let end = i;
      while (pattern[end] === "*") end += 1;
      if (end - i === 1) {
        tokens.push({ kind: "star" });
      } else {
        const startsSegment = i === 0 || pattern[i - 1] === "/";
        tokens.push({ kind: "globstar", segments: startsSegment && pattern[end] === "/" });
      }
      i = end;
    }
  }
  return tokens;
}

/** Whether `value` matches the glob `pattern` as a whole. */
export function matchesGlob(pattern: string, value: string): boolean {
  const tokens = tokenize(pattern);
  const width = value.length + 1;
  // Row t holds, for each v, whether tokens[t..] match value[v..]. Each row needs only the two after it.
  let after2 = new Uint8Array(width);
  let after1 = new Uint8Array(width);
  after1[value.length] = 1; // no tokens left: only the empty rest matches
  for (let t = tokens.length - 1; t >= 0; t -= 1) {
    const row = new Uint8Array(width);
    const token = tokens[t]!;
    for (let v = value.length; v >= 0; v -= 1) {
      row[v] = matchesAt(token, value[v], v, { row, after1 }) ? 1 : 0;
    }
    if (token.kind === "globstar" && token.segments) {
      // Zero segments: skip the `**` and its `/`, but only where the `**` starts (so after the loop
      // above, which lets `**` consume characters; consuming some and then skipping the `/` is wrong).
      for (let v = 0; v < width; v += 1) row[v] = row[v]! | after2[v]!;
    }
    after2 = after1;
    after1 = row;
  }
  return after1[0] === 1;
}

/**
 * One cell of row t: does `token` and everything after it match from value position `v` (character
 * `char`)? `row` is row t so far, `after1` row t + 1.
 */
function matchesAt(
  token: Token,
  char: string | undefined,
  v: number,
  { row, after1 }: { row: Uint8Array; after1: Uint8Array },
): boolean {
  const inSegment = char !== undefined && char !== "/";
  switch (token.kind) {
    case "char":
      return char === token.char && after1[v + 1] === 1;
    case "one":
      return inSegment && after1[v + 1] === 1;
    case "star":
      return after1[v] === 1 || (inSegment && row[v + 1] === 1);
    case "globstar":
      return after1[v] === 1 || (char !== undefined && row[v + 1] === 1);
  }
}

/** Whether `value` matches at least one of `patterns` (false for an empty list). */
export function matchesAny(patterns: readonly string[], value: string): boolean {
  return patterns.some((pattern) => matchesGlob(pattern, value));
}
