// Who prenv is on GitHub: the App's id and its bot account (`<slug>[bot]`). Only comments written by
// that account can carry prenv's hidden state (approvals, /env destroy): a comment from any other
// bot or user that copies prenv's marker is never read as prenv's own.
import type { Probot } from "probot";
import { status } from "./errors.js";
import { PrenvError } from "../../errors.js";

export interface AppIdentity {
  id: number;
  /** The login of the App's bot account, e.g. `prenv[bot]`. */
  botLogin: string;
}

const known = new WeakMap<object, Promise<AppIdentity>>();

/** The App behind `probot` (`GET /app` with the App's JWT), asked once per process. */
export function appIdentity(probot: Pick<Probot, "auth">): Promise<AppIdentity> {
  let identity = known.get(probot);
  if (!identity) {
    identity = (async () => {
      try {
        const octokit = await probot.auth();
        const { data } = await octokit.rest.apps.getAuthenticated();
        if (!data?.slug) throw new Error("GitHub returned no App slug");
        return { id: data.id, botLogin: `${data.slug}[bot]` };
      } catch (err) {
        throw new PrenvError(
          "GITHUB_ERROR",
          `GitHub API ${status(err) ?? "request"} failed while reading the App's own identity (GET /app); check APP_ID and the private key.`,
          { cause: err },
        );
      }
    })();
    known.set(probot, identity);
    // A failure is not remembered: the next job asks again.
    identity.catch(() => known.delete(probot));
  }
  return identity;
}
