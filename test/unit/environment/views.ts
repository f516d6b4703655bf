// Test helpers: a repository config with defaults, and an environment's record as it reads.
import { parseRepoConfig } from "../../../src/config/parse.js";
import type { RepoConfig } from "../../../src/config/schema.js";
import type { EnvironmentRecord } from "../../../src/environment/ports.js";
import { readRecord, type EnvironmentView } from "../../../src/environment/record.js";

export function config(raw: Record<string, unknown> = {}): RepoConfig {
  const r = parseRepoConfig(raw);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

/** A namespace with these prenv.dev/ annotations (short names), read as prenv reads it. */
export function view(
  annotations: Record<string, string> = {},
  labels: Record<string, string> = {},
): EnvironmentView {
  const env: EnvironmentRecord = {
    name: "pr-1-acme-web-x",
    phase: "Active",
    labels,
    annotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [`prenv.dev/${k}`, v])),
  };
  return readRecord(env);
}

export const at = (iso: string) => new Date(iso);
export const HOUR = 3600_000;
export const DAY = 24 * HOUR;
