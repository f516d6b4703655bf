import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderJsonSchema } from "../../../src/config/json-schema.js";

const SCHEMA_FILE = new URL("../../../schema/prenv.schema.json", import.meta.url);

interface JsonSchemaNode {
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  additionalProperties?: unknown;
}

/** Every property of the schema with its dotted path. */
function properties(node: JsonSchemaNode, prefix = ""): [string, JsonSchemaNode][] {
  return Object.entries(node.properties ?? {}).flatMap(([key, child]): [string, JsonSchemaNode][] => [
    [prefix + key, child],
    ...properties(child, `${prefix}${key}.`),
  ]);
}

describe("schema/prenv.schema.json", () => {
  it("matches the zod schema (run `npm run schema` after changing src/config/schema.ts)", () => {
    const committed = readFileSync(SCHEMA_FILE, "utf8");
    expect(committed, "schema/prenv.schema.json is stale: run `npm run schema` and commit the result").toBe(
      renderJsonSchema(),
    );
  });
});

describe("renderJsonSchema", () => {
  const schema = JSON.parse(renderJsonSchema()) as JsonSchemaNode & Record<string, unknown>;

  it("is identical every time it is rendered", () => {
    expect(renderJsonSchema()).toBe(renderJsonSchema());
  });

  it("is pretty-printed JSON ending in one newline", () => {
    const text = renderJsonSchema();
    expect(text).toMatch(/^\{\n {2}"\$schema": /);
    expect(text.endsWith("}\n")).toBe(true);
  });

  it("carries an $id, a title and a description", () => {
    expect(schema.$id).toMatch(/^https:\/\/.+\/prenv\.schema\.json$/);
    expect(schema.title).toEqual(expect.any(String));
    expect(schema.description).toEqual(expect.any(String));
  });

  it("describes every field for the repo owner", () => {
    const fields = properties(schema);
    expect(fields.length).toBeGreaterThan(15);
    const undocumented = fields.filter(([, node]) => !node.description).map(([path]) => path);
    expect(undocumented).toEqual([]);
  });

  it("requires no top-level key and shows defaults", () => {
    expect(schema.required ?? []).toEqual([]);
    const defaults = Object.fromEntries(properties(schema).map(([path, node]) => [path, node.default]));
    expect(defaults).toMatchObject({
      isolation: "namespace",
      ttl: "72h",
      maxTtl: "7d",
      "deploy.path": "deploy/preview",
      "deploy.waitForChecks": [],
      "resources.cpu": "2",
      "resources.memory": "4Gi",
      "resources.pods": 20,
      "resources.storage": "10Gi",
      podSecurity: "restricted",
      "filters.drafts": false,
    });
  });

  it("rejects unknown keys in every section", () => {
    for (const [path, node] of [["(root)", schema] as const, ...properties(schema)]) {
      if (node.properties) expect(node.additionalProperties, path).toBe(false);
    }
  });
});
