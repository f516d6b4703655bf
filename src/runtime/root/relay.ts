// The relay function: the jobs FIFO queue, with the function's own credentials. No GitHub, no
// cluster, no secret.
import { loadSettings } from "../settings.js";
import { functionCredentials } from "./aws.js";
import { rootLogger } from "./logger.js";
import { once } from "./once.js";
import { sqsQueue } from "./queue.js";

export const relayRoot = once(() => {
  const settings = loadSettings(process.env);
  return Promise.resolve({
    queue: sqsQueue(settings, functionCredentials(settings)),
    log: rootLogger(settings),
  });
});
