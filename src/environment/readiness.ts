// What "ready" means for a deployed environment: a list of conditions, each looked at once per
// follow-up check of the rollout (rollout.ts), in order; the first that is not met decides. Today
// the list is the workloads' rollout; a route accepted by its Gateway and the preview URL
// answering are further conditions of the same shape, looked at in the same checks. A condition
// sees only what the namespace records (and the cluster), never GitHub: checks read GitHub only
// once they have something to report.
import type { ObjectRef } from "../manifests/objects.js";
import type { ReconcileDeps } from "./context.js";
import type { WorkloadCluster } from "./ports.js";

export type Readiness =
  | { state: "ready" }
  /** Not yet: what is still on its way, for the timeout's message. */
  | { state: "waiting"; pending: string[] }
  /** Will not get there: the comment's detail, and whether the pods' diagnosis explains it. */
  | { state: "failed"; detail: string; diagnose: boolean };

/** What a condition looks at. */
export interface ReadinessInput {
  deps: ReconcileDeps;
  /** The PR's host namespace. */
  namespace: string;
  /** Where the PR's objects are: the host namespace or its virtual cluster. */
  target: WorkloadCluster;
  /** The Deployments and StatefulSets of the deploy. */
  workloads: ObjectRef[];
}

export interface ReadinessCondition {
  /** For logs, e.g. `workloads`. */
  name: string;
  /** One look; never waits. */
  check(input: ReadinessInput): Promise<Readiness>;
}

/** Every Deployment and StatefulSet has its wanted replicas updated and available. */
export const workloadsRolledOut: ReadinessCondition = {
  name: "workloads",
  async check({ target, workloads }) {
    const rollout = await target.rolloutState(workloads);
    if (rollout.ready) return { state: "ready" };
    if (rollout.failed.length > 0) {
      const failed = rollout.failed.map((w) => `${w} (progress deadline exceeded)`);
      return { state: "failed", detail: `Not ready: ${failed.join(", ")}.`, diagnose: true };
    }
    return { state: "waiting", pending: rollout.pending };
  },
};

/** The conditions of "ready", in the order they are looked at. */
export const READINESS: readonly ReadinessCondition[] = [workloadsRolledOut];

/** The first condition that is not met decides; all met: ready. */
export async function evaluateReadiness(
  conditions: readonly ReadinessCondition[],
  input: ReadinessInput,
): Promise<Readiness> {
  for (const condition of conditions) {
    const readiness = await condition.check(input);
    if (readiness.state !== "ready") return readiness;
  }
  return { state: "ready" };
}
