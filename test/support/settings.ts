// Operator settings for tests: the real parser, with test values.
import { loadSettings, type Settings } from "../../src/runtime/settings.js";

export function testSettings(overrides: Record<string, string> = {}): Settings {
  return loadSettings({
    PRENV_BASE_DOMAIN: "preview.test",
    PRENV_URL_SCHEME: "https",
    PRENV_ROLLOUT_TIMEOUT_SECONDS: "20",
    // Follow-up looks at a rollout every second (as the rollout wait polled before them).
    PRENV_ROLLOUT_CHECK_SECONDS: "1",
    ...overrides,
  });
}
