// Wires GitHub events to prenv's use cases. No logic lives here.
import type { Probot } from "probot";

export default function prenvApp(app: Probot): void {
  app.log.info("prenv loaded");
}
