import { describe, expect, it } from "vitest";
import { parseKubeconfigArgs, parseTokenArgs } from "../../../src/access/cli-args.js";

describe("prenv kubeconfig arguments", () => {
  it("reads the pull request, the URL (flag or PRENV_URL), ttl and output file; keeps no token by default", () => {
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
      tokenEnv: null,
      tokenCache: null,
    });
    expect(parseKubeconfigArgs(["acme/web.site#3"], { PRENV_URL: "http://localhost:3000" })).toEqual({
      owner: "acme",
      repo: "web.site",
      number: "3",
      url: "http://localhost:3000",
      ttl: null,
      out: null,
      tokenEnv: null,
      tokenCache: null,
    });
  });

  it("takes a token from an environment variable only when asked by name, or caches one only when asked", () => {
    expect(
      parseKubeconfigArgs(["acme/web#1", "--url", "http://x", "--token-env", "CI_PRENV_TOKEN"], {}),
    ).toMatchObject({
      tokenEnv: "CI_PRENV_TOKEN",
      tokenCache: null,
    });
    expect(
      parseKubeconfigArgs(["acme/web#1", "--url", "http://x", "--token-cache", "/tmp/t"], {}),
    ).toMatchObject({
      tokenEnv: null,
      tokenCache: "/tmp/t",
    });
    // GITHUB_TOKEN / GH_TOKEN in the environment are not picked up by themselves.
    expect(
      parseKubeconfigArgs(["acme/web#1", "--url", "http://x"], { GITHUB_TOKEN: "ghp_x", GH_TOKEN: "gho_y" }),
    ).toMatchObject({
      tokenEnv: null,
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
    [["acme/web#1", "--url", "http://x", "--token-env", "$(gh auth token)"], "names an environment variable"],
    [["acme/web#1", "--url", "http://x", "--token-env", "T", "--token-cache", "f"], "not both"],
  ])("refuses %j: %s", (args, says) => {
    expect(parseKubeconfigArgs(args, {})).toContain(says);
  });
});

describe("prenv token arguments", () => {
  it("reads the URL and an optional cache, and nothing else", () => {
    expect(parseTokenArgs(["--url", "https://p.example/"], {})).toEqual({
      url: "https://p.example",
      tokenEnv: null,
      tokenCache: null,
    });
    expect(parseTokenArgs(["--token-cache", "f"], { PRENV_URL: "http://l" })).toMatchObject({
      tokenCache: "f",
    });
    expect(parseTokenArgs(["--token-env", "X", "--url", "http://l"], {})).toBe("unknown option --token-env");
    expect(parseTokenArgs(["acme/web#1", "--url", "http://l"], {})).toBe("unexpected argument acme/web#1");
    expect(parseTokenArgs([], {})).toContain("give prenv's URL");
  });
});
