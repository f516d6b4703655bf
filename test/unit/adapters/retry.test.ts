// Which Kubernetes API failures are retried in place, and after how long: transient answers and
// lost connections, as Node's http and undici (client-node 2.x) report them; never a refusal.
import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { retryDelay, retrying } from "../../../src/adapters/kubernetes/retry.js";

const withCode = (code: string, cause?: string) =>
  Object.assign(new Error("failed"), { code, ...(cause ? { cause: { code: cause } } : {}) });

describe("retryDelay", () => {
  it.each([
    ["a reset socket (node:http)", withCode("ECONNRESET")],
    ["undici's closed socket", withCode("UND_ERR_SOCKET")],
    ["undici's connect timeout", withCode("UND_ERR_CONNECT_TIMEOUT")],
    [
      "a fetch-style error whose cause was reset",
      Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNRESET" } }),
    ],
    ["an unknown code wrapping a reset", withCode("UND_ERR_SOMETHING", "ECONNREFUSED")],
    ["a 503", new ApiException(503, "unavailable", "", {})],
  ])("retries %s", (_, err) => {
    expect(retryDelay(err, 1)).toBeGreaterThan(0);
  });

  it.each([
    ["a 404", new ApiException(404, "not found", "", {})],
    ["a 422 refusal", new ApiException(422, "invalid", "", {})],
    [
      "a typed-patch refusal (500)",
      new ApiException(500, "x", { message: "failed to create typed patch object" }, {}),
    ],
    ["an unknown network code", withCode("UND_ERR_ABORTED")],
    ["a plain error", new Error("boom")],
  ])("does not retry %s", (_, err) => {
    expect(retryDelay(err, 1)).toBeNull();
  });

  it("honours the answer's Retry-After, up to 10 s", () => {
    expect(retryDelay(new ApiException(429, "slow down", "", { "retry-after": "3" }), 1)).toBe(3000);
    expect(retryDelay(new ApiException(429, "slow down", "", { "retry-after": "60" }), 1)).toBe(10_000);
  });
});

describe("retrying", () => {
  it("tries 4 times in all, then gives the last failure", async () => {
    let tries = 0;
    const failing = () => {
      tries++;
      return Promise.reject(withCode("UND_ERR_SOCKET"));
    };
    await expect(retrying(failing, { sleep: () => Promise.resolve() })).rejects.toThrow("failed");
    expect(tries).toBe(4);
  });
});
