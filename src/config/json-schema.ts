import { z } from "zod";
import { repoConfigSchema } from "./schema.js";

/** Where editors can fetch the schema; also its identity inside other schemas. */
export const SCHEMA_ID = "https://raw.githubusercontent.com/prenv/prenv/main/schema/prenv.schema.json";

/**
 * The JSON Schema for `.github/prenv.yml`, as written to `schema/prenv.schema.json`: generated from
 * the input side of `repoConfigSchema`, so defaults are shown and fields with defaults are optional.
 * Deterministic (same schema, same text), pretty-printed, ending in a newline.
 */
export function renderJsonSchema(): string {
  const { $schema, ...generated } = z.toJSONSchema(repoConfigSchema, {
    io: "input",
    target: "draft-2020-12",
  });
  const document = {
    $schema,
    $id: SCHEMA_ID,
    title: "prenv repository configuration",
    description:
      "Settings for prenv preview environments, read from .github/prenv.yml on the repository's default " +
      "branch. Every key is optional; a file with a single key such as `isolation: namespace` turns " +
      "previews on with defaults.",
    ...generated,
  };
  return `${prettyJson(document, "", 0, "")}\n`;
}

const PRINT_WIDTH = 110;

/**
 * JSON.stringify with two-space indentation, except that a list of plain values stays on one line when
 * it fits in 110 columns, as Prettier prints JSON: so `prettier --check` accepts the generated file.
 * `column` is where the value starts on its line; `suffix` is what follows it there (a comma or nothing).
 */
function prettyJson(value: unknown, indent: string, column: number, suffix: string): string {
  const inner = `${indent}  `;
  if (Array.isArray(value) && value.length > 0) {
    if (value.every((item) => item === null || typeof item !== "object")) {
      const line = `[${value.map((item) => JSON.stringify(item)).join(", ")}]`;
      if (column + line.length + suffix.length <= PRINT_WIDTH) return line;
    }
    const items = value.map(
      (item, i) => inner + prettyJson(item, inner, inner.length, i < value.length - 1 ? "," : ""),
    );
    return `[\n${items.join(",\n")}\n${indent}]`;
  }
  if (value !== null && typeof value === "object" && Object.keys(value).length > 0) {
    const entries = Object.entries(value);
    const lines = entries.map(([key, item], i) => {
      const prefix = `${inner}${JSON.stringify(key)}: `;
      return prefix + prettyJson(item, inner, prefix.length, i < entries.length - 1 ? "," : "");
    });
    return `{\n${lines.join(",\n")}\n${indent}}`;
  }
  return JSON.stringify(value);
}
