/**
 * Writes schema/prenv.schema.json from the zod schema in src/config/schema.ts.
 * Run with `npx tsx scripts/generate-schema.ts` (npm run schema); a unit test fails when it is stale.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderJsonSchema } from "../src/config/json-schema.js";

const target = join(dirname(fileURLToPath(import.meta.url)), "..", "schema", "prenv.schema.json");
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, renderJsonSchema());
console.log(`wrote ${target}`);
