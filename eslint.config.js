// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** Code that may talk to vendors, the file system and the environment. Everything else in src/
 * is domain code and receives those capabilities through a `deps` argument. */
const edges = [
  "src/adapters/**",
  "src/runtime/**",
  "src/lambda/**",
  "src/main.ts",
  "src/app.ts",
  "src/cli.ts",
];

/** Vendor SDKs and I/O: only edges may import them. */
const vendors = [
  "probot",
  "probot/*",
  "@octokit/*",
  "@kubernetes/*",
  "@aws-sdk/*",
  "node:fs",
  "node:fs/*",
  "fs",
  "fs/*",
];

/**
 * The direction of imports, by relative path: domain code (everything in src/ that is not an
 * edge) never imports an edge; adapters never import the wiring (runtime, lambda, app, entries);
 * runtime never imports an entry.
 */
const entries = ["**/lambda/*", "**/main.js", "**/cli.js"];
const wiring = ["**/runtime/*", "**/runtime/**", ...entries, "**/app.js"];
const edgeModules = ["**/adapters/*", "**/adapters/**", ...wiring];

export default tseslint.config(
  { ignores: ["node_modules/**", "dist/**", ".serverless/**", ".esbuild/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      complexity: ["error", 15],
      "max-depth": ["error", 4],
    },
  },
  {
    // Every line counts, comments included: what `wc -l` says is what a reader has to read.
    files: ["src/**/*.ts"],
    rules: {
      "max-lines": ["error", { max: 400, skipBlankLines: false, skipComments: false }],
      "max-params": ["error", 4],
    },
  },
  {
    files: ["src/**/*.ts"],
    ignores: edges,
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: vendors,
              message:
                "Domain code takes vendors and I/O through its `deps` argument; put this in src/adapters or src/runtime.",
            },
            {
              group: edgeModules,
              message:
                "Domain code does not import adapters, runtime, lambda, app or the entry points; receive what you need through `deps` (or move the shared type into the domain).",
            },
          ],
        },
      ],
      "no-restricted-properties": [
        "error",
        {
          object: "process",
          property: "env",
          message: "Read settings in src/runtime/settings.ts and pass them down.",
        },
      ],
    },
  },
  {
    files: ["src/adapters/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: wiring,
              message:
                "Adapters translate one vendor; they do not import the wiring (runtime, lambda, app, entry points).",
            },
          ],
        },
      ],
    },
  },
  {
    // The composition roots (src/runtime/root/{bot,webhook,kubeconfig}.ts, one per function)
    // assemble everything, the event wiring (app.ts) included; the rest of runtime/ are parts and
    // builders they assemble, and import neither.
    files: ["src/runtime/**/*.ts"],
    ignores: ["src/runtime/root/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: [
                ...entries,
                "**/app.js",
                "**/root/bot.js",
                "**/root/webhook.js",
                "**/root/kubeconfig.js",
              ],
              message: "Only the composition roots (src/runtime/root/) and the entries assemble the wiring.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["src/runtime/root/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: entries, message: "The composition roots do not import the entry points." }] },
      ],
    },
  },
  {
    files: ["test/**/*.ts", "scripts/**/*.ts"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/unbound-method": "off",
      // A test reads top to bottom as one scenario; splitting it for a complexity score hides it.
      complexity: "off",
    },
  },
  { files: ["**/*.js", "**/*.mjs", "**/*.cjs"], ...tseslint.configs.disableTypeChecked },
);
