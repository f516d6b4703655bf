import { describe, expect, it } from "vitest";
import { parseKubeconfigArgs } from "../../../src/access/cli-args.js";

describe("prenv kubeconfig arguments", () => {
  it("reads the pull request, the URL (flag or PRENV_URL), ttl and output file", () => {
    expect(
      parseKubeconfigArgs(
        ["acme/web#12", "--url", "https://prenv.example.com/", "--ttl", "2h", "-o", "k"],
        {},
      ),
    ).toEqual({
      owner: "acme",
      repo: "web",
      number: "12",
      url: "https://prenv.example.com",
      ttl: "2h",
      out: "k",
    });
    expect(parseKubeconfigArgs(["acme/web.site#3"], { PRENV_URL: "http://localhost:3000" })).toEqual({
      owner: "acme",
      repo: "web.site",
      number: "3",
      url: "http://localhost:3000",
      ttl: null,
      out: null,
    });
  });

  it.each([
    [[], "name the pull request"],
    [["acme/web"], "name the pull request"],
    [["acme/web#x"], "name the pull request"],
    [["acme/web/x#1"], "name the pull request"],
    [["acme/web#1", "acme/api#2"], "name the pull request"],
    [["acme/web#1"], "give prenv's URL"],
    [["acme/web#1", "--url", "ftp://x"], "give prenv's URL"],
    [["acme/web#1", "--url"], "--url needs a value"],
    [["acme/web#1", "--token", "x"], "unknown option --token"],
  ])("refuses %j: %s", (args, says) => {
    expect(parseKubeconfigArgs(args, {})).toContain(says);
  });
});
