// Repair: every REPAIR_EVERY_MS the guards of a settled environment are applied again; server-side
// apply restores whatever drifted (a deleted quota, an edited network policy). The janitor asks for
// a reconcile when a repair is due.
import type { OpenCtx } from "./context.js";
import type { Life } from "./lifetime.js";
import { guardObjects } from "./namespace.js";
import type { EnvironmentRecord } from "./ports.js";
import { checkedWrite, readRecord, type EnvironmentView } from "./record.js";

/** How often an environment's guards are re-applied. */
export const REPAIR_EVERY_MS = 6 * 3600_000;

export function repairDue(view: EnvironmentView, now: Date): boolean {
  return view.checkedAt === null || now.getTime() - view.checkedAt.getTime() >= REPAIR_EVERY_MS;
}

/** Re-applies the guards when due; true when it did. */
export async function repairIfDue(ctx: OpenCtx, env: EnvironmentRecord, life: Life): Promise<boolean> {
  const { cluster, clock } = ctx.deps;
  const now = clock.now();
  if (!repairDue(readRecord(env), now)) return false;
  await cluster.applyAsBot(guardObjects(ctx, life));
  await cluster.annotate(ctx.namespace, checkedWrite(now));
  return true;
}
