// What the operator allows any repository at most: its quota (PRENV_MAX_CPU, _MEMORY, _STORAGE,
// _PODS) and its egress (never into PRENV_EGRESS_DENY_CIDRS). A config that asks for more is refused
// like any invalid config, naming the ceiling, instead of being silently cut down.
import type { ConfigProblem } from "../config/parse.js";
import type { RepoConfig } from "../config/schema.js";
import { parseQuantity } from "./cost.js";
import { egressProblems } from "./egress.js";
import type { EnvironmentSettings } from "./settings.js";

const QUOTAS = [
  ["cpu", "PRENV_MAX_CPU"],
  ["memory", "PRENV_MAX_MEMORY"],
  ["storage", "PRENV_MAX_STORAGE"],
] as const;

export function ceilingProblems(config: RepoConfig, settings: EnvironmentSettings): ConfigProblem[] {
  const { ceilings } = settings;
  const problems: ConfigProblem[] = [];
  for (const [key, variable] of QUOTAS) {
    const asked = config.resources[key];
    if (parseQuantity(asked) > parseQuantity(ceilings[key])) {
      problems.push({
        path: `resources.${key}`,
        message: `${asked} is more than this installation allows (${ceilings[key]}, set by its operators as ${variable})`,
        fix: `Ask for ${ceilings[key]} or less.`,
      });
    }
  }
  if (config.resources.pods > ceilings.pods) {
    problems.push({
      path: "resources.pods",
      message: `${config.resources.pods} is more than this installation allows (${ceilings.pods}, set by its operators as PRENV_MAX_PODS)`,
      fix: `Ask for ${ceilings.pods} pods or fewer.`,
    });
  }
  for (const message of egressProblems(config.egress.allow, settings.egressDeny)) {
    problems.push({
      path: "egress.allow",
      message,
      fix: "List only public address ranges; private ranges are kept out of reach of previews by the operators (PRENV_EGRESS_DENY_CIDRS).",
    });
  }
  return problems;
}
