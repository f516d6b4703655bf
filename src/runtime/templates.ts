// Loads prenv's own templates from templates/ once per process.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { compileGuardTemplates, type TemplateSources } from "../environment/guards.js";
import { compileComment } from "../report/comment.js";
import type { ReconcileDeps } from "../environment/context.js";

export const TEMPLATES_DIR = join(dirname(fileURLToPath(import.meta.url)), "../../templates");

export function readTemplateSources(dir: string = TEMPLATES_DIR): TemplateSources {
  const read = (f: string) => readFileSync(join(dir, f), "utf8");
  return {
    namespace: read("namespace.yaml.hbs"),
    ingress: read("ingress.yaml.hbs"),
    routes: read("routes.yaml.hbs"),
    vcluster: read("vcluster.yaml.hbs"),
    vclusterConfig: read("vcluster-config.yaml.hbs"),
    comment: read("comment.md.hbs"),
  };
}

export function loadTemplates(dir: string = TEMPLATES_DIR): ReconcileDeps["templates"] {
  const src = readTemplateSources(dir);
  return { guards: compileGuardTemplates(src), comment: compileComment(src.comment) };
}
