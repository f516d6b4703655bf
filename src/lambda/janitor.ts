// EventBridge schedule → one janitor pass. See src/environment/janitor.ts.
import { botRoot, runJanitor } from "../runtime/root/bot.js";

export async function handler(): Promise<{
  environments: number;
  repositories: number;
  reconciled: number;
  deleted: number;
}> {
  const report = await runJanitor(await botRoot());
  return {
    environments: report.environments,
    repositories: report.repositories,
    reconciled: report.reconciled.length,
    deleted: report.deleted.length,
  };
}
