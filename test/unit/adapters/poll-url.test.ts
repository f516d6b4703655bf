// The URL half of "ready means reachable", against a real HTTP server on loopback: a Gateway's 404
// for a host it has not programmed yet is not the app answering.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { NOT_FOUND_SETTLE_MS, pollUrl } from "../../../src/adapters/kubernetes/edge.js";

let server: Server | null = null;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** Answers each request with the next status of `statuses` (the last one repeats); counts requests. */
async function answering(statuses: number[]): Promise<{ url: string; seen: () => number }> {
  let n = 0;
  server = createServer((_req, res) => {
    res.statusCode = statuses[Math.min(n++, statuses.length - 1)]!;
    res.end();
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, seen: () => n };
}

/** A clock that moves only when the poll sleeps. */
function fakePoll(pollMs: number) {
  let t = 0;
  return { pollMs, now: () => t, sleep: (ms: number) => Promise.resolve(void (t += ms)) };
}

describe("pollUrl", () => {
  test("a 404 while the data plane is not serving the route yet is waited out; the app's answer counts", async () => {
    const s = await answering([404, 404, 404, 200]);
    const wait = await pollUrl(s.url, null, 60_000, fakePoll(1000));
    expect(wait).toEqual({ answered: true, status: 200 });
    expect(s.seen()).toBe(4);
  });

  test("a 404 that stays the answer is the app's own, once it has lasted the settle time", async () => {
    const s = await answering([404]);
    const poll = fakePoll(1000);
    const wait = await pollUrl(s.url, null, 60_000, poll);
    expect(wait).toEqual({ answered: true, status: 404 });
    expect(poll.now()).toBeGreaterThanOrEqual(NOT_FOUND_SETTLE_MS);
    expect(poll.now()).toBeLessThan(NOT_FOUND_SETTLE_MS + 2000);
  });

  test("other answers below 500 count at once; 5xx never does", async () => {
    expect(await pollUrl((await answering([302])).url, null, 60_000, fakePoll(1000))).toEqual({
      answered: true,
      status: 302,
    });
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = null;
    expect(await pollUrl((await answering([503])).url, null, 5000, fakePoll(1000))).toEqual({
      answered: false,
      last: "HTTP 503",
    });
  });
});
