// Cold start of each Lambda function: its bundle built as serverless.yml builds it (the esbuild
// options of custom.esbuild), imported by a fresh Node process, paired run by run with a bare
// Probot webhook bundle that only verifies and receives (bench/baseline/probot-webhook.ts): import
// time (median of the per-pair ratios, and of the times), and the process's peak memory once the
// bundle is imported. Bundles are written to a temporary directory and removed.
import { build, type BuildOptions } from "esbuild";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const FUNCTIONS = ["webhook", "worker", "janitor", "kubeconfig", "relay"] as const;
const root = join(import.meta.dirname, "..");

interface EsbuildSettings {
  format: "esm";
  outputFileExtension: string;
  platform: "node";
  target: string;
  banner?: { js: string };
  minify?: boolean;
  keepNames?: boolean;
  external?: string[];
}
const stack = parse(readFileSync(join(root, "serverless.yml"), "utf8"), { logLevel: "silent" }) as {
  custom: { esbuild: EsbuildSettings };
};
const es = stack.custom.esbuild;

const out = mkdtempSync(join(tmpdir(), "prenv-bench-imports-"));
try {
  const bundles: Record<string, string> = {};
  const entries: Record<string, string> = {
    baseline: join(root, "bench/baseline/probot-webhook.ts"),
    ...Object.fromEntries(FUNCTIONS.map((fn) => [fn, join(root, `src/lambda/${fn}.ts`)])),
  };
  for (const [name, entry] of Object.entries(entries)) {
    const outfile = join(out, "src/lambda", `${name}${es.outputFileExtension}`);
    const options: BuildOptions = {
      entryPoints: [entry],
      outfile,
      bundle: true,
      format: es.format,
      platform: es.platform,
      target: es.target,
      minify: es.minify ?? false,
      keepNames: es.keepNames ?? false,
      external: es.external ?? [],
      logLevel: "error",
      ...(es.banner ? { banner: es.banner } : {}),
    };
    await build(options);
    bundles[name] = outfile;
  }

  // One fresh process per import; no AWS credentials, as in scripts/package-check.sh.
  const env = { PATH: process.env.PATH ?? "", AWS_REGION: "us-east-1", NODE_NO_WARNINGS: "1" };
  const probe = [
    "const t = performance.now();",
    "await import(process.argv[1]);",
    "const ms = performance.now() - t;",
    "console.log(JSON.stringify({ ms, peakKiB: process.resourceUsage().maxRSS }));",
  ].join("\n");
  const importOnce = (file: string): { ms: number; peakKiB: number } =>
    JSON.parse(
      execFileSync(process.execPath, ["--input-type=module", "-e", probe, file], { env, encoding: "utf8" }),
    ) as { ms: number; peakKiB: number };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

  importOnce(bundles.baseline!); // warm the file cache
  const baseline = { ms: [] as number[], peakKiB: [] as number[] };
  for (const fn of FUNCTIONS) {
    importOnce(bundles[fn]!);
    const own = { ms: [] as number[], peakKiB: [] as number[], ratio: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      const a = importOnce(bundles[fn]!);
      const b = importOnce(bundles.baseline!);
      own.ms.push(a.ms);
      own.peakKiB.push(a.peakKiB);
      own.ratio.push(a.ms / b.ms);
      baseline.ms.push(b.ms);
      baseline.peakKiB.push(b.peakKiB);
    }
    console.log(
      JSON.stringify({
        bench: `cold import of the ${fn} function's bundle, paired with a bare Probot webhook (median of ${RUNS})`,
        bundle_kib: Math.round(statSync(bundles[fn]!).size / 1024),
        import_ms: Number(median(own.ms).toFixed(1)),
        ratio_to_baseline: Number(median(own.ratio).toFixed(2)),
        peak_mib: Number((median(own.peakKiB) / 1024).toFixed(1)),
      }),
    );
  }
  console.log(
    JSON.stringify({
      bench: `the bare Probot webhook bundle (bench/baseline/probot-webhook.ts), over all pairs`,
      bundle_kib: Math.round(statSync(bundles.baseline!).size / 1024),
      import_ms: Number(median(baseline.ms).toFixed(1)),
      peak_mib: Number((median(baseline.peakKiB) / 1024).toFixed(1)),
    }),
  );
} finally {
  rmSync(out, { recursive: true, force: true });
}
