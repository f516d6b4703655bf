// How much of a pull request's manifests prenv reads at most: bounds on the work, checked before
// any byte is downloaded (files.ts) and again while parsing and rendering (parse.ts, template.ts).
import { DEFAULT_MAX_BLOCK_DEPTH, DEFAULT_MAX_FILE_BYTES } from "./template.js";

export interface ManifestLimits {
  /** Largest file, before and after templating. */
  maxFileBytes: number;
  /** All manifest files together, before and after templating. */
  maxTotalBytes: number;
  /** Number of `.yaml`/`.yml` files. */
  maxFiles: number;
  /** Objects after flattening `List`s. */
  maxObjects: number;
  /** YAML alias expansions per document (yaml's `maxAliasCount`). */
  maxAliasCount: number;
  /** Nesting of YAML collections and of template blocks. */
  maxDepth: number;
}

export const DEFAULT_MANIFEST_LIMITS: Readonly<ManifestLimits> = Object.freeze({
  maxFileBytes: DEFAULT_MAX_FILE_BYTES,
  maxTotalBytes: 1024 * 1024,
  maxFiles: 100,
  maxObjects: 200,
  maxAliasCount: 20,
  maxDepth: DEFAULT_MAX_BLOCK_DEPTH,
});
