// `npm start`: prenv as one local process (Probot's server; its GitHub App setup page when no
// App is configured yet).
import { run } from "probot";
import prenvApp from "./app.js";

await run(prenvApp);
