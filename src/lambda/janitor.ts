// EventBridge schedule → one janitor pass. See src/environment/janitor.ts.
import { botRuntime, runJanitor } from "../runtime/aws.js";

export async function handler(): Promise<{
  environments: number;
  repositories: number;
  reconciled: number;
  deleted: number;
}> {
  const report = await runJanitor(await botRuntime());
  return {
    environments: report.environments,
    repositories: report.repositories,
    reconciled: report.reconciled.length,
    deleted: report.deleted.length,
  };
}
