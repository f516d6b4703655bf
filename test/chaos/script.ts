// The chaos run's script: what happens on GitHub (opens, pushes, closes, reopens, label changes and
// `/env` commands on every pull request, interleaved), and how GitHub's deliveries of it go wrong
// (duplicated, dropped closes, reordered). All of it drawn from the seed.
import { LABEL, OPTIONAL_MANIFESTS, type Pr, type World } from "./world.js";
import type { Rng } from "./rng.js";

export type StepKind = "open" | "push" | "close" | "merge" | "reopen" | "label" | "unlabel" | "command";

export interface Step {
  pr: Pr;
  kind: StepKind;
  /** For `command`: the comment's text. */
  command?: string;
}

const COMMANDS: Record<string, number> = {
  "/env status": 3,
  "/env redeploy": 2,
  "/env destroy": 2,
  "/env sleep": 2,
  "/env wake": 2,
  "/env extend": 1,
  "/env extend 12h": 1,
  "/env help": 1,
};

/** Each PR's steps in order, interleaved across PRs by a random timeline. */
export function makeScript(world: World, r: Rng): Step[] {
  const timed: { at: number; n: number; step: Step }[] = [];
  let n = 0;
  for (const pr of world.prs) {
    let at = r.next() * 100;
    let open = true;
    const steps: Step[] = [{ pr, kind: "open" }];
    for (let i = r.int(2, 7); i > 0; i--) {
      const kind: StepKind = open
        ? r.weighted({ push: 30, close: 9, merge: 4, label: 6, unlabel: 4, command: 30 })
        : r.weighted({ reopen: 6, command: 1 });
      if (kind === "close" || kind === "merge") open = false;
      if (kind === "reopen") open = true;
      steps.push(kind === "command" ? { pr, kind, command: r.weighted(COMMANDS) } : { pr, kind });
      if (kind === "merge") break; // a merged pull request cannot be reopened
    }
    for (const step of steps) {
      timed.push({ at, n: n++, step });
      at += 2 + r.next() * 30;
    }
  }
  return timed.sort((a, b) => a.at - b.at || a.n - b.n).map((t) => t.step);
}

function manifests(r: Rng): string[] {
  return OPTIONAL_MANIFESTS.filter(() => r.chance(0.5));
}

export interface Delivery {
  event: string;
  payload: Record<string, unknown>;
  id: string;
  /** For figures: which step (and PR) it carries. */
  step: Step;
}

/** Makes the change on GitHub (the stand-in) and returns the delivery GitHub sends for it. */
export function perform(world: World, step: Step, r: Rng, id: string): Delivery {
  const { pr } = step;
  const obj = pr.model.pr;
  const ev = (action: string): Delivery => ({
    event: "pull_request",
    payload: world.pullRequestEvent(pr, action),
    id,
    step,
  });
  switch (step.kind) {
    case "open":
      world.commit(pr, manifests(r));
      obj.state = "open";
      if (pr.repo.kind === "labelled" && r.chance(0.6)) obj.labels = [{ id: 1, name: LABEL }];
      return ev("opened");
    case "push":
      world.commit(pr, manifests(r));
      return ev("synchronize");
    case "close":
    case "merge":
      obj.state = "closed";
      obj.merged = step.kind === "merge";
      return ev("closed");
    case "reopen":
      obj.state = "open";
      return ev("reopened");
    case "label":
    case "unlabel": {
      const has = obj.labels.some((l) => l.name === LABEL);
      obj.labels = has ? obj.labels.filter((l) => l.name !== LABEL) : [...obj.labels, { id: 1, name: LABEL }];
      return ev(has ? "unlabeled" : "labeled");
    }
    case "command":
      return { event: "issue_comment", payload: world.commentEvent(pr, step.command!), id, step };
  }
}

export interface DeliveryFaults {
  duplicate: number;
  dropClose: number;
  reorder: number;
}

export interface DeliveryFigures {
  sent: number;
  duplicated: number;
  droppedCloses: number;
  reordered: number;
}

/**
 * GitHub's delivery of the script's events, with faults: a share of closes is never delivered, a
 * share of deliveries is held back behind the next one to three, and a share is delivered again
 * later (half with the same delivery id, as a redelivery, half with a new one).
 */
export class Deliveries {
  readonly figures: DeliveryFigures = { sent: 0, duplicated: 0, droppedCloses: 0, reordered: 0 };
  private held: { delivery: Delivery; after: number }[] = [];

  constructor(
    private readonly send: (d: Delivery) => Promise<void>,
    private readonly faults: DeliveryFaults,
    private readonly r: Rng,
  ) {}

  async offer(d: Delivery): Promise<void> {
    const { r, faults } = this;
    if (d.payload.action === "closed" && r.chance(faults.dropClose)) {
      this.figures.droppedCloses++;
      return;
    }
    if (r.chance(faults.duplicate)) {
      this.figures.duplicated++;
      const again = { ...d, id: r.chance(0.5) ? d.id : `${d.id}-again` };
      this.held.push({ delivery: again, after: r.int(0, 6) });
    }
    if (r.chance(faults.reorder)) {
      this.figures.reordered++;
      this.held.push({ delivery: d, after: r.int(0, 2) });
      return;
    }
    await this.deliver(d);
  }

  private async deliver(d: Delivery): Promise<void> {
    await this.send(d);
    this.figures.sent++;
    for (const h of this.held) h.after--;
    const due = this.held.filter((h) => h.after < 0);
    this.held = this.held.filter((h) => h.after >= 0);
    for (const h of due) await this.deliver(h.delivery);
  }

  /** Delivers whatever is still held back. */
  async flush(): Promise<void> {
    const rest = this.held;
    this.held = [];
    for (const h of rest) await this.send(h.delivery).then(() => this.figures.sent++);
  }
}
