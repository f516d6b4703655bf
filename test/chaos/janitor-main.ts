// The janitor function of the chaos run: prenv's real janitor handler (src/lambda/janitor.ts), as
// EventBridge invokes it, in a process of its own with the worker's environment. It tells the run
// its summary over IPC.
import { handler } from "../../src/lambda/janitor.js";

const summary = await handler();
process.send?.({ type: "janitor", summary }, () => process.exit(0));
