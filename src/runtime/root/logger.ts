// The process's one pino logger, at LOG_LEVEL, and the domain's Logger on it.
import { pino, type Logger as Pino } from "pino";
import type { Logger } from "../../environment/ports.js";
import type { Settings } from "../settings.js";

export function rootLogger(settings: Pick<Settings, "logLevel">, fallback = "info"): Pino {
  return pino({ level: settings.logLevel ?? fallback });
}

/** What the domain logs through: static message, metadata first (as pino takes them). */
export function domainLogger(log: Pino): Logger {
  return {
    info: (meta, msg) => log.info(meta, msg),
    warn: (meta, msg) => log.warn(meta, msg),
    error: (meta, msg) => log.error(meta, msg),
  };
}
