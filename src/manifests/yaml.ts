// Reading a manifest file's YAML: as kubectl does (YAML 1.1), within limits on nesting and alias
// expansion, refusing duplicate keys, into plain JSON-like values. Never throws on bad input: each
// problem is reported with its file and line.
import {
  Composer,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  Parser,
  type CST,
  type Document,
  type Tags,
} from "yaml";
import { excerpt, ManifestError } from "./errors.js";
import type { Mapping } from "./values.js";

/** YAML syntax errors reported per file: later ones are usually echoes of the first. */
const MAX_YAML_ERRORS_PER_FILE = 5;

// YAML 1.1, as kubectl reads manifests (`defaultMode: 0644` is octal, `<<` merges), minus the
// tags that would produce values Kubernetes objects cannot hold (dates, binary, sets, ordered
// maps, sexagesimal numbers); those scalars stay text, as kubectl leaves them.
const NON_JSON_TAGS = new Set(
  ["binary", "omap", "pairs", "set", "timestamp"].map((t) => `tag:yaml.org,2002:${t}`),
);
const YAML_OPTIONS = {
  version: "1.1",
  merge: true,
  // Checked by firstDuplicateKey instead: yaml's own check is quadratic in the size of a mapping.
  uniqueKeys: false,
  logLevel: "error",
  customTags: (tags: Tags): Tags =>
    tags.filter((t) => typeof t === "string" || (!NON_JSON_TAGS.has(t.tag) && t.format !== "TIME")),
} as const;

/** One file being read: where problems go, and the limits that bound the work. */
export interface YamlReader {
  file: string;
  limits: { maxDepth: number; maxAliasCount: number };
  report(error: ManifestError): void;
}

export interface ParsedDoc {
  line: number;
  value: unknown;
}

/** The documents of one file (empty ones skipped), each with the line it starts on. */
export function parseYaml(reader: YamlReader, text: string): ParsedDoc[] {
  const { limits, file } = reader;
  const errors = { add: (e: ManifestError) => reader.report(e) };
  const lines = new LineCounter();
  const tokens = Array.from(new Parser(lines.addNewLine).parse(text));
  // The composer and toJS recurse once per nesting level: refuse deep input before they see it.
  const deep = firstTooDeep(tokens, limits.maxDepth);
  if (deep !== undefined) {
    errors.add(tooDeep(file, lines.linePos(deep).line, limits.maxDepth));
    return [];
  }
  const docs: ParsedDoc[] = [];
  let yamlErrors = 0;
  for (const doc of new Composer(YAML_OPTIONS).compose(tokens)) {
    const line = lines.linePos(docStart(doc)).line;
    const first = doc.errors[0];
    if (first) {
      yamlErrors += 1;
      if (yamlErrors <= MAX_YAML_ERRORS_PER_FILE) {
        errors.add(yamlError(file, lines.linePos(first.pos[0]).line, first));
      }
      continue;
    }
    const duplicate = firstDuplicateKey(doc);
    if (duplicate) {
      const at = lines.linePos(duplicate.offset).line;
      errors.add(
        new ManifestError({
          code: "YAML",
          file,
          line: at,
          problem: `The key ${excerpt(duplicate.key)} appears twice in the same mapping.`,
          fix: "Remove one of the two; YAML does not merge them.",
        }),
      );
      continue;
    }
    const value = toValue(reader, line, doc);
    if (value !== undefined && value !== null) docs.push({ line, value });
  }
  return docs;
}

function docStart(doc: Document.Parsed): number {
  return doc.contents?.range[0] ?? doc.range[0];
}

/** The document as plain JSON-like data, or undefined after reporting why not. */
function toValue(reader: YamlReader, line: number, doc: Document.Parsed): unknown {
  const { file, limits } = reader;
  let js: unknown;
  try {
    js = doc.toJS({ maxAliasCount: limits.maxAliasCount });
  } catch (err) {
    reader.report(aliasError(file, line, err, limits.maxAliasCount));
    return undefined;
  }
  try {
    return copyPlain(js, limits.maxDepth);
  } catch (err) {
    if (!(err instanceof TooDeep)) throw err;
    reader.report(tooDeep(file, line, limits.maxDepth));
    return undefined;
  }
}

/** Offset of the first collection nested deeper than `max`, walking the CST without recursion. */
function firstTooDeep(tokens: CST.Token[], max: number): number | undefined {
  const pending: [CST.Token, number][] = tokens.map((t) => [t, 0]);
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [token, depth] = next;
    if (token.type === "document") {
      if (token.value) pending.push([token.value, depth]);
    } else if ("items" in token) {
      if (depth + 1 > max) return token.offset;
      for (const item of token.items) {
        if ("key" in item && item.key) pending.push([item.key, depth + 1]);
        if (item.value) pending.push([item.value, depth + 1]);
      }
    }
  }
  return undefined;
}

/** The first key that repeats within a mapping (as text, since that is how objects are keyed). */
function firstDuplicateKey(doc: Document.Parsed): { key: string; offset: number } | undefined {
  const pending: unknown[] = [doc.contents];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (isSeq(node)) {
      pending.push(...node.items);
    } else if (isMap(node)) {
      const duplicate = duplicateKeyIn(node.items);
      if (duplicate) return duplicate;
      pending.push(...node.items.map((pair) => pair.value));
    }
  }
  return undefined;
}

function duplicateKeyIn(pairs: { key: unknown }[]): { key: string; offset: number } | undefined {
  const keys = new Set<string>();
  for (const { key } of pairs) {
    if (!isScalar(key) || key.value === "<<") continue;
    const text = String(key.value);
    if (keys.has(text)) return { key: text, offset: key.range?.[0] ?? 0 };
    keys.add(text);
  }
  return undefined;
}

class TooDeep extends Error {}

/**
 * A fresh copy made only of plain objects, arrays and scalars. Aliases in YAML make shared
 * sub-objects, and normalising one object must not change another. Keys such as `__proto__`
 * become ordinary own properties.
 */
function copyPlain(value: unknown, maxDepth: number, depth = 0): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth >= maxDepth) throw new TooDeep();
  if (Array.isArray(value)) return value.map((v: unknown) => copyPlain(v, maxDepth, depth + 1));
  const out: Mapping = {};
  for (const [key, v] of Object.entries(value)) {
    Object.defineProperty(out, key, {
      value: copyPlain(v, maxDepth, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function tooDeep(file: string, line: number, max: number): ManifestError {
  return new ManifestError({
    code: "TOO_DEEP",
    file,
    line,
    problem: `The YAML here is nested more than ${max} levels deep.`,
    fix: "Kubernetes objects are never this deep; check the indentation and brackets.",
  });
}

function yamlError(file: string, line: number, error: { code: string; message: string }): ManifestError {
  const fixes: Record<string, string> = {
    TAB_AS_INDENT: "Indent with spaces, not tabs.",
  };
  return new ManifestError({
    code: "YAML",
    file,
    line,
    problem: `The YAML is not valid: ${excerpt(error.message)}.`,
    fix: fixes[error.code] ?? "Check indentation, quoting and brackets on and just before this line.",
  });
}

function aliasError(file: string, line: number, err: unknown, max: number): ManifestError {
  const message = err instanceof Error ? err.message : String(err);
  if (/resource exhaustion|disabled/i.test(message)) {
    return new ManifestError({
      code: "ALIASES",
      file,
      line,
      problem: `This YAML document expands aliases (*name) too many times; the limit is ${max} per document.`,
      fix: "Write the repeated parts out instead of using anchors and aliases.",
    });
  }
  return new ManifestError({
    code: "YAML",
    file,
    line,
    problem: `The YAML is not valid: ${excerpt(message)}.`,
    fix: "Define each anchor (&name) before the aliases (*name) that use it.",
  });
}
