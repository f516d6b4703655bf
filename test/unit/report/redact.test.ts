import { describe, expect, it } from "vitest";
import { redact, redactFailure } from "../../../src/report/redact.js";

describe("redact", () => {
  it.each([
    ["password=hunter2 connecting", "password=[redacted] connecting"],
    ['{"api_key": "abc123"}', '{"api_key": "[redacted]"}'],
    ["Authorization: Bearer abcdefghijklmnop", "Authorization: [redacted]"],
    ["token ghp_0123456789abcdefghij0123456789abcd", "token [redacted]"],
    ["key AKIAABCDEFGHIJKLMNOP used", "key [redacted] used"],
    ["jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlc2lnbmF0dXJl end", "jwt [redacted] end"],
    ["postgres://app:s3cret@db:5432/app", "[redacted]db:5432/app"],
    ["-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "[redacted]"],
    ["listening on :8080", "listening on :8080"],
    [
      "posting to https://hooks.slack.com/services/T0123ABCD/B0123ABCD/abcdefghijklmnopqrstuvwx failed",
      "posting to [redacted] failed",
    ],
    ["stripe key sk_live_4eC39HqLyjWDarjtT1zdp7dc rejected", "stripe key [redacted] rejected"],
    ["    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=", "    client-key-data: [redacted]"],
    ['"client-key-data":"LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0t"', '"client-key-data":"[redacted]"'],
    [
      "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY boot",
      "AWS_SECRET_ACCESS_KEY=[redacted] boot",
    ],
    [
      "creds wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY for AKIAIOSFODNN7EXAMPLE",
      "creds [redacted] for [redacted]",
    ],
    ["slack xoxb-123456789012-abcdefghijkl", "slack [redacted]"],
    [
      "sha 0123456789abcdef0123456789abcdef01234567 built",
      "sha 0123456789abcdef0123456789abcdef01234567 built",
    ],
  ])("%s", (input, expected) => {
    expect(redact(input)).toBe(expected);
  });

  it("masks pod messages, logs and events of a failure report", () => {
    const out = redactFailure({
      pods: [{ name: "p", reason: "CrashLoopBackOff", message: "secret=abc", logs: "token: xyz" }],
      events: [{ object: "Pod/p", reason: "Failed", message: "password=1" }],
    });
    expect(JSON.stringify(out)).not.toMatch(/abc|xyz|password=1/);
  });
});
