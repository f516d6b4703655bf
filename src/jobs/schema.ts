// Jobs read back from a queue are checked before use: the queue is ours, but a malformed message
// (a manual send, an old format) must fail clearly, not deep inside reconcile. On zod/mini, as
// the relay function (a few KB) reads jobs too.
import * as z from "zod/mini";
import type { ReconcileJob } from "./job.js";

const positive = () => z.number().check(z.int(), z.positive());
const text = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));

const jobSchema = z.strictObject({
  installationId: positive(),
  owner: text(1, 100),
  repo: text(1, 100),
  number: positive(),
  repoId: z.optional(positive()),
  reason: text(0, 200),
  delivery: text(1, 200),
  commentId: z.optional(positive()),
  purge: z.optional(z.literal(true)),
  check: z.optional(
    z.strictObject({
      sha: z.string().check(z.regex(/^[0-9a-f]{40}$/)),
      configHash: z.string().check(z.regex(/^[0-9a-f]{1,64}$/)),
      since: z.number().check(z.int(), z.nonnegative()),
      attempt: z.number().check(z.int(), z.positive(), z.lte(10_000)),
    }),
  ),
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
