// How prenv writes an instant for people: ISO 8601 in UTC, to the second.

/** `2026-11-25T10:00:00Z` (no milliseconds). */
export function isoSeconds(at: Date | string): string {
  const iso = typeof at === "string" ? at : at.toISOString();
  return iso.replace(/\.\d{3}Z$/, "Z");
}
