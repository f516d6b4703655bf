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
    files: ["src/**/*.ts"],
    ignores: edges,
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: [
                "probot",
                "probot/*",
                "@octokit/*",
                "@kubernetes/*",
                "@aws-sdk/*",
                "node:fs",
                "node:fs/*",
                "fs",
                "fs/*",
              ],
              message:
                "Domain code takes vendors and I/O through its `deps` argument; put this in src/adapters or src/runtime.",
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
