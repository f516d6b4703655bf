// Bounds on issued access that settings check too (so the settings parser imports nothing else of
// the access use case).

/** Kubernetes refuses TokenRequests for less than 10 minutes. */
export const MIN_TOKEN_MS = 10 * 60_000;
