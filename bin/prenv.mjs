#!/usr/bin/env node
// Runs prenv's TypeScript CLI through tsx (a dependency of the development checkout).
import { register } from "tsx/esm/api";

register();
await import("../src/cli.ts");
