// Operator settings for tests: the real parser, with test values.
import { loadSettings, type Settings } from "../../src/runtime/settings.js";

export function testSettings(overrides: Record<string, string> = {}): Settings {
  return loadSettings({
    PRENV_BASE_DOMAIN: "preview.test",
    PRENV_URL_SCHEME: "https",
    PRENV_ROLLOUT_TIMEOUT_SECONDS: "20",
    ...overrides,
  });
}
