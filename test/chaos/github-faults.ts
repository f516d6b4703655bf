// Faults for the GitHub stand-in, as github.com answers under trouble: 502 Bad Gateway, and
// secondary rate limits (403 or 429 with the documented message and `retry-after` header).
import type { StandInReply } from "../support/github-standin.js";
import type { Rng } from "./rng.js";

export type GitHubFault = "502" | "403-secondary" | "429-secondary";

const SECONDARY = {
  message:
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.",
  documentation_url:
    "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits",
};

export function githubFaults(rate: number, rng: Rng, counts: Map<GitHubFault | "none", number>) {
  let current = rate;
  const policy = (call: { host: string }): StandInReply | undefined => {
    if (call.host !== "api") return undefined;
    const fault =
      current > 0 && rng.chance(current)
        ? rng.weighted({ "502": 2, "403-secondary": 1, "429-secondary": 1 })
        : null;
    counts.set(fault ?? "none", (counts.get(fault ?? "none") ?? 0) + 1);
    if (fault === "502") {
      return {
        status: 502,
        headers: { "content-type": "text/html" },
        body: "<html><body><h1>502 Bad Gateway</h1>Server Error</body></html>",
      };
    }
    if (fault) {
      return {
        status: fault === "403-secondary" ? 403 : 429,
        headers: { "retry-after": "1", "x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4321" },
        body: SECONDARY,
      };
    }
    return undefined;
  };
  return { policy, setRate: (r: number) => (current = r) };
}
