import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import pino, { type Logger } from "pino";
import { TelegramChannel } from "./channels/telegram.js";
import { WhatsAppChannel } from "./channels/whatsapp.js";
import type { WhatsAppClientFactory } from "./channels/whatsapp/client.js";
import { operatorPagePath, registerOperatorPage } from "./channels/whatsapp/operator-page.js";
import { registerWebChat } from "./channels/web.js";
import { ConfigError, type Config } from "./config.js";
import { loadCourse } from "./content/load.js";
import type { Course } from "./content/model.js";
import { formatProblem } from "./content/yaml-source.js";
import { openDatabase, type OpenDatabase } from "./db/database.js";
import { Dispatcher, type ChannelSender } from "./dispatcher.js";
import { handleInbound } from "./engine/engine.js";
import type { Channel, EngineContext, Inbound } from "./engine/types.js";
import { loadLocales } from "./i18n.js";
import { Store } from "./store.js";
import { Scheduler } from "./scheduler.js";
import { roles } from "../flows/roles.js";

/** Raised when the course files are invalid; the message lists every problem. */
export class ContentError extends Error {
  override readonly name = "ContentError";
}

export interface App {
  config: Config;
  server: FastifyInstance;
  store: Store;
  course: Course;
  context: EngineContext;
  database: OpenDatabase;
  dispatcher: Dispatcher;
  scheduler: Scheduler;
  telegram: TelegramChannel | null;
  whatsapp: WhatsAppChannel | null;
  logger: Logger;
  /** Runs the engine for one inbound message, commits, and wakes the dispatcher. */
  receive: (channel: Channel, address: string, updateId: string | null, inbound: Inbound) => string | undefined;
  /** Starts listening; returns the server's address. */
  listen: () => Promise<string>;
  close: () => Promise<void>;
}

export interface AppOptions {
  logger?: Logger;
  now?: () => number;
  /** Builds the WhatsApp client; tests pass a fake in place of whatsapp-web.js. */
  whatsappClientFactory?: WhatsAppClientFactory;
}

/** Builds the service from its settings: database, course, engine, channels and HTTP server. */
export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? pino({ level: config.LOG_LEVEL, redact: ["token", "*.token"] });
  const now = options.now ?? Date.now;

  for (const [name, dir] of [["CONTENT_DIR", config.CONTENT_DIR], ["LOCALES_DIR", config.LOCALES_DIR]] as const) {
    if (!existsSync(dir)) throw new ConfigError(`invalid settings:\n  ${name}=${JSON.stringify(dir)}: folder not found: point it at the project's ${name === "CONTENT_DIR" ? "content" : "locales"} folder`);
  }
  const loaded = loadCourse(resolve(config.CONTENT_DIR));
  for (const problem of loaded.problems.filter((item) => item.severity === "warning")) {
    logger.warn({ problem: formatProblem(problem) }, "course content warning");
  }
  if (!loaded.course) {
    const errors = loaded.problems.filter((problem) => problem.severity === "error").map(formatProblem);
    throw new ContentError(`the course in ${config.CONTENT_DIR} is invalid (${errors.length} errors):\n${errors.join("\n")}\nFix them; npm run content:check shows the same list.`);
  }
  const course = loaded.course;
  const locales = loadLocales(resolve(config.LOCALES_DIR), course.sourceLanguage);
  const context: EngineContext = {
    course,
    t: locales.t,
    languageNames: locales.languageNames,
    roles,
    commandWords: locales.commandWords,
    schedule: {
      quietStart: config.QUIET_HOURS_START,
      quietEnd: config.QUIET_HOURS_END,
      reminderDays: config.REMINDER_DAYS,
      secondReleaseHours: config.TWICE_DAILY_GAP_HOURS,
    },
  };

  const database = openDatabase(config.DATABASE_FILE);
  const store = new Store(database.db, course);
  const server = Fastify({ loggerInstance: logger.child({ component: "http" }) as FastifyBaseLogger, bodyLimit: 64 * 1024 });
  const senders: ChannelSender[] = [];

  let dispatcher: Dispatcher | null = null;
  const receive: App["receive"] = (channel, address, updateId, inbound) => {
    const processed = store.processInbound(
      { channel, address, updateId, inbound, now: now() },
      (state) => handleInbound(state, inbound, context, now()),
    );
    if (processed.duplicate) {
      // A WhatsApp update id contains the sender's phone number, which info logs must not show.
      logger.info({ channel, ...(channel === "whatsapp" ? {} : { updateId }) }, "duplicate update skipped");
      return undefined;
    }
    const events = processed.result?.events.map((event) => event.type) ?? [];
    logger.debug({ channel, enrollmentId: processed.enrollmentId, events }, "inbound processed");
    dispatcher?.kick();
    return processed.result?.notice;
  };

  let telegram: TelegramChannel | null = null;
  if (config.TELEGRAM_BOT_TOKEN) {
    telegram = new TelegramChannel({
      token: config.TELEGRAM_BOT_TOKEN,
      apiRoot: config.TELEGRAM_API_ROOT,
      logger: logger.child({ channel: "telegram" }),
      locales,
      onInbound: async (address, updateId, inbound) => receive("telegram", address, updateId, inbound),
      perChatIntervalMs: config.TELEGRAM_CHAT_INTERVAL_MS,
      globalPerSecond: config.TELEGRAM_GLOBAL_PER_SECOND,
    });
    senders.push(telegram);
  }

  let whatsapp: WhatsAppChannel | null = null;
  if (config.WHATSAPP_ENABLED && config.WHATSAPP_OPERATOR_TOKEN) {
    whatsapp = new WhatsAppChannel({
      sessionDir: config.WHATSAPP_SESSION_DIR,
      chromiumPath: config.WHATSAPP_CHROMIUM_PATH,
      guardFile: config.WHATSAPP_GUARD_FILE,
      minChatGapMs: config.WHATSAPP_MIN_CHAT_GAP_MS,
      minGlobalGapMs: config.WHATSAPP_MIN_GLOBAL_GAP_MS,
      dailyCap: config.WHATSAPP_DAILY_CAP,
      paused: config.WHATSAPP_SEND_PAUSED,
      logger: logger.child({ channel: "whatsapp" }),
      now,
      ...(options.whatsappClientFactory ? { clientFactory: options.whatsappClientFactory } : {}),
      onInbound: (address, updateId, inbound) => {
        receive("whatsapp", address, updateId, inbound);
      },
    });
    senders.push(whatsapp);
    const channel = whatsapp;
    registerOperatorPage(server, { token: config.WHATSAPP_OPERATOR_TOKEN, status: () => channel.linkStatus() });
  }

  dispatcher = new Dispatcher({
    store,
    senders,
    logger: logger.child({ component: "dispatcher" }),
    now,
    maxAttempts: config.DISPATCH_MAX_ATTEMPTS,
    backoffMs: config.DISPATCH_BACKOFF_MS,
    onUnreachable: (channel, address) => {
      store.markUnreachable(channel, address, now());
      logger.info({ channel }, "learner unreachable: sends stopped");
    },
  });
  const scheduler = new Scheduler({
    store,
    context,
    logger: logger.child({ component: "scheduler" }),
    now,
    onQueued: () => dispatcher?.kick(),
  });
  if (config.WEB_CHAT_ENABLED) registerWebChat(server, { store, receive, locales, course });
  server.get("/health", async () => ({ ok: true, course: course.id, version: course.version }));

  const app: App = {
    config, server, store, course, context, database, dispatcher, scheduler, telegram, whatsapp, logger, receive,
    listen: async () => {
      if (telegram) {
        await telegram.init();
        if (config.PUBLIC_URL) {
          const secret = config.TELEGRAM_WEBHOOK_SECRET ?? randomBytes(32).toString("hex");
          await telegram.useWebhook(server, config.PUBLIC_URL, secret);
        }
      }
      const address = await server.listen({ host: config.HOST, port: config.PORT });
      dispatcher?.start();
      if (config.SCHEDULER_ENABLED) scheduler.start();
      if (telegram && !config.PUBLIC_URL) telegram.startPolling();
      if (whatsapp) {
        // WhatsApp starts in the background: linking may wait for a QR scan, and a failure must not stop the service.
        logger.info({ operatorPage: `${address}${operatorPagePath}?token=<WHATSAPP_OPERATOR_TOKEN>` }, "whatsapp operator page");
        void whatsapp.start();
      }
      return address;
    },
    close: async () => {
      await telegram?.stop();
      scheduler.stop();
      await dispatcher?.stop();
      // After the dispatcher, so that no send is cut off when the browser closes.
      await whatsapp?.stop();
      await server.close();
      database.close();
    },
  };
  return app;
}
