// Jobs read back from a queue are checked before use: the queue is ours, but a malformed message
// (a manual send, an old format) must fail clearly, not deep inside reconcile.
import { z } from "zod";
import type { ReconcileJob } from "./job.js";

const jobSchema = z.strictObject({
  installationId: z.number().int().positive(),
  owner: z.string().min(1).max(100),
  repo: z.string().min(1).max(100),
  number: z.number().int().positive(),
  repoId: z.number().int().positive().optional(),
  reason: z.string().max(200),
  delivery: z.string().min(1).max(200),
  commentId: z.number().int().positive().optional(),
  purge: z.literal(true).optional(),
});

export function parseJob(body: string): ReconcileJob {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    throw new Error("job message is not JSON");
  }
  const parsed = jobSchema.safeParse(raw);
  if (!parsed.success)
    throw new Error(
      `job message is malformed: ${parsed.error.issues.map((i) => i.path.join(".") || "(root)").join(", ")}`,
    );
  return parsed.data;
}
