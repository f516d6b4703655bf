import { defineConfig } from "vitest/config";
import {
  AWS_ENABLE_HINT,
  decideAwsTier,
  decideClusterTier,
  ENABLE_HINT,
} from "./test/cluster/harness/tier.js";

// Three tiers: unit (pure code), integration (the real Probot app against a GitHub stand-in),
// cluster (a real Kubernetes API server). The cluster tier is skipped only where it cannot run
// and is not required; see test/cluster/harness/tier.ts.
const tier = decideClusterTier();
if (tier.mode === "skip") {
  console.warn(`cluster test tier SKIPPED (${tier.reason}): ${ENABLE_HINT}`);
}

const aws = decideAwsTier();
if (aws.mode === "skip") {
  console.warn(`AWS test tier SKIPPED (${aws.reason}): ${AWS_ENABLE_HINT}`);
}

export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      { test: { name: "integration", include: ["test/integration/**/*.test.ts"] } },
      ...(aws.mode === "skip"
        ? []
        : [
            {
              test: {
                name: "aws",
                include: ["test/aws/**/*.test.ts"],
                globalSetup: ["test/aws/global-setup.ts"],
                testTimeout: 60_000,
                hookTimeout: 120_000,
              },
            },
          ]),
      ...(tier.mode === "skip"
        ? []
        : [
            {
              test: {
                name: "cluster",
                include: ["test/cluster/**/*.test.ts"],
                globalSetup: [
                  "test/cluster/harness/global-setup.ts",
                  // The AWS-shaped end-to-end test also needs ElasticMQ.
                  ...(aws.mode === "skip" ? [] : ["test/aws/global-setup.ts"]),
                ],
                testTimeout: 60_000,
                hookTimeout: 60_000,
                // One API server for the whole tier: run the files in one worker, one at a time.
                pool: "forks",
                poolOptions: { forks: { singleFork: true } },
              },
            },
          ]),
    ],
  },
});
