// `npm run chaos [-- --seed N] [--prs M] [--repos R] [--workers W] [--node] [--keep]`: the chaos run (see
// test/chaos/run.ts). Prints the seed first, the figures and every problem last; exits 1 when prenv
// did not converge. The same seed replays the same script and fault pattern (timing still varies).
import { DEFAULTS, runChaos } from "../test/chaos/run.js";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function int(name: string, fallback: number): number {
  const v = arg(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`chaos: --${name} must be a whole number, not '${v}'`);
    process.exit(2);
  }
  return n;
}

const seed = int("seed", Number(process.env.PRENV_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31)));
const prs = int("prs", DEFAULTS.prs);
const repos = int("repos", Math.min(DEFAULTS.repos, Math.max(1, prs)));
const node = process.argv.includes("--node");
const replay = `npm run chaos -- --seed ${seed} --prs ${prs}${node ? " --node" : ""}`;
console.log(`chaos: seed ${seed} (replay: ${replay})`);
const result = await runChaos({
  ...DEFAULTS,
  seed,
  prs,
  repos,
  workers: int("workers", DEFAULTS.workers),
  node,
  keep: process.argv.includes("--keep"),
  log: (line) => console.log(line),
});
console.log(JSON.stringify(result.figures, null, 2));
if (result.ok) {
  console.log(`chaos: seed ${seed}: converged`);
} else {
  console.log(`chaos: seed ${seed}: ${result.problems.length} problem(s):`);
  for (const p of result.problems) console.log(`  - ${p}`);
  console.log(`replay: ${replay}`);
}
process.exit(result.ok ? 0 : 1);
