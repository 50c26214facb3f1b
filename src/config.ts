import { z } from "zod";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"], { error: "expected true or false" })
  .transform((value) => value === "true" || value === "1" || value === "yes");

const hourOfDay = z.coerce
  .number({ error: "expected an hour from 0 to 23" })
  .int("expected an hour from 0 to 23")
  .min(0, "expected an hour from 0 to 23")
  .max(23, "expected an hour from 0 to 23");

const port = z.coerce
  .number({ error: "expected a number" })
  .int("expected a whole number")
  .min(0, "expected a port from 0 to 65535")
  .max(65535, "expected a port from 0 to 65535");

const whatsappTokenRule =
  "expected 16 to 256 characters of A-Z, a-z, 0-9, '.', '_', '~' and '-', such as the output of `openssl rand -hex 24`";

const url = (what: string) =>
  z
    .string()
    .url(`expected a full URL such as ${what}`)
    .refine((value) => /^https?:\/\//.test(value), `expected an http:// or https:// URL such as ${what}`)
    .transform((value) => value.replace(/\/+$/, ""));

const count = (what: string) =>
  z.coerce
    .number({ error: `expected a number of ${what}` })
    .int("expected a whole number")
    .min(0, "expected 0 or more");

/** Every setting, read from the environment; `.env.example` documents each one. */
export const configSchema = z.object({
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: port.default(3000),
  DATABASE_FILE: z.string().min(1).default("data/waypoints.sqlite"),
  CONTENT_DIR: z.string().min(1).default("content"),
  LOCALES_DIR: z.string().min(1).default("locales"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  WEB_CHAT_ENABLED: bool.default(true),
  TELEGRAM_BOT_TOKEN: z
    .string()
    .regex(/^\d+:[A-Za-z0-9_-]{20,}$/, "expected a token from @BotFather, such as 123456:ABC-DEF...")
    .optional(),
  TELEGRAM_API_ROOT: url("https://api.telegram.org").default("https://api.telegram.org"),
  PUBLIC_URL: url("https://course.example.org")
    .refine(
      (value) => value.startsWith("https://") || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|$)/.test(value),
      "Telegram sends webhooks to https:// URLs only; use the service's public https address",
    )
    .optional(),
  TELEGRAM_CHAT_INTERVAL_MS: z.coerce.number({ error: "expected a number" }).int("expected whole milliseconds").min(0, "expected 0 or more").default(1000),
  TELEGRAM_GLOBAL_PER_SECOND: z.coerce.number({ error: "expected a number" }).int("expected a whole number").min(1, "expected 1 or more").max(1000, "expected at most 1000").default(30),
  SCHEDULER_ENABLED: bool.default(true),
  QUIET_HOURS_START: hourOfDay.default(21),
  QUIET_HOURS_END: hourOfDay.default(8),
  REMINDER_DAYS: z
    .string()
    .regex(/^(\d{1,3}(,\s*\d{1,3})*)?$/, "expected days as whole numbers separated by commas, such as 3,7")
    .transform((value) => (value.trim() === "" ? [] : value.split(",").map((day) => Number(day.trim()))))
    .refine((days) => days.every((day, index) => day > 0 && (index === 0 || day > (days[index - 1] ?? 0))), "expected increasing days above 0, such as 3,7")
    .default([3, 7]),
  TWICE_DAILY_GAP_HOURS: z.coerce.number({ error: "expected a number" }).int("expected whole hours").min(1, "expected 1 to 12 hours").max(12, "expected 1 to 12 hours").default(6),
  DISPATCH_MAX_ATTEMPTS: z.coerce.number({ error: "expected a number" }).int("expected a whole number").min(1, "expected 1 or more").default(5),
  DISPATCH_BACKOFF_MS: z.coerce.number({ error: "expected a number" }).int("expected whole milliseconds").min(0, "expected 0 or more").default(1000),
  TELEGRAM_WEBHOOK_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,256}$/, "expected 1 to 256 characters of A-Z, a-z, 0-9, _ and -")
    .optional(),

  // WhatsApp through whatsapp-web.js; docs/whatsapp.md explains each guard.
  WHATSAPP_ENABLED: bool.default(false),
  WHATSAPP_SESSION_DIR: z.string().min(1).default("data/whatsapp-session"),
  WHATSAPP_GUARD_FILE: z.string().min(1).default("data/whatsapp-guards.json"),
  WHATSAPP_CHROMIUM_PATH: z.string().min(1).default("/usr/bin/chromium"),
  WHATSAPP_OPERATOR_TOKEN: z
    .string()
    .regex(/^[A-Za-z0-9._~-]{16,256}$/, whatsappTokenRule)
    .optional(),
  WHATSAPP_MIN_CHAT_GAP_MS: count("milliseconds").default(3000),
  WHATSAPP_MIN_GLOBAL_GAP_MS: count("milliseconds").default(1500),
  WHATSAPP_DAILY_CAP: count("messages").default(200),
  WHATSAPP_SEND_PAUSED: bool.default(false),
}).superRefine(
  (config, context) => {
    // Runs even when other settings are invalid, so that the values may still be raw strings.
    if (config.WHATSAPP_ENABLED === true && config.WHATSAPP_OPERATOR_TOKEN === undefined) {
      context.addIssue({
        code: "custom",
        path: ["WHATSAPP_OPERATOR_TOKEN"],
        message: `missing, and required when WHATSAPP_ENABLED=true: ${whatsappTokenRule}`,
      });
    }
  },
  { when: () => true },
);

export type Config = z.infer<typeof configSchema>;

/** A setting with a bad value; the message names the variable, the problem and what is expected. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Reads and validates the settings; throws ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key in configSchema.shape && value !== undefined && value !== ""),
  );
  const result = configSchema.safeParse(present);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? "");
    const value = String(env[name] ?? "");
    const shown = name.includes("TOKEN") || name.includes("SECRET") ? "(hidden)" : JSON.stringify(value);
    return `${name}=${shown}: ${issue.message}`;
  });
  throw new ConfigError(`invalid settings:\n  ${lines.join("\n  ")}\nFix them in the environment or in .env, as .env.example describes.`);
}
