// Teardown: the environment is deleted (its namespace, and with it everything in it) and the PR is
// told why. Every rule that ends an environment (closed PR, removed config, filters, expiry, a
// changed isolation, `/env destroy`, `forks: never`) ends it here.
import { blankReport, say, type Ctx, type Outcome } from "./context.js";
import type { EnvironmentRecord } from "./ports.js";

export async function teardown(
  ctx: Ctx,
  env: EnvironmentRecord | null,
  reason: string | null,
  kind: "deleted" | "destroyed" = "deleted",
): Promise<Outcome> {
  if (env) await ctx.deps.cluster.deleteNamespace(ctx.namespace);
  const detail =
    kind === "destroyed"
      ? reason
      : reason
        ? `${reason} The environment was deleted.`
        : "The environment was deleted.";
  await say(ctx, { ...blankReport(null), kind, detail });
  if (env) ctx.deps.log.info({ namespace: ctx.namespace, reason }, "environment deleted");
  return kind;
}
