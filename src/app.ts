import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import pino, { type Logger } from "pino";
import { TelegramChannel } from "./channels/telegram.js";
import { registerWebChat } from "./channels/web.js";
import type { Config } from "./config.js";
import { loadCourse } from "./content/load.js";
import type { Course } from "./content/model.js";
import { formatProblem } from "./content/yaml-source.js";
import { openDatabase, type OpenDatabase } from "./db/database.js";
import { Dispatcher, type ChannelSender } from "./dispatcher.js";
import { handleInbound } from "./engine/engine.js";
import type { Channel, EngineContext, Inbound } from "./engine/types.js";
import { loadLocales } from "./i18n.js";
import { Store } from "./store.js";
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
  telegram: TelegramChannel | null;
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
}

/** Builds the service from its settings: database, course, engine, channels and HTTP server. */
export async function createApp(config: Config, options: AppOptions = {}): Promise<App> {
  const logger = options.logger ?? pino({ level: config.LOG_LEVEL, redact: ["token", "*.token"] });
  const now = options.now ?? Date.now;

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
  };

  const database = openDatabase(config.DATABASE_FILE);
  const store = new Store(database.db, course);
  const server = Fastify({ loggerInstance: logger.child({ component: "http" }) as FastifyBaseLogger, bodyLimit: 64 * 1024 });
  const senders: ChannelSender[] = [];

  let dispatcher: Dispatcher | null = null;
  const receive: App["receive"] = (channel, address, updateId, inbound) => {
    const processed = store.processInbound(
      { channel, address, updateId, inbound, now: now() },
      (state) => handleInbound(state, inbound, context),
    );
    if (processed.duplicate) {
      logger.info({ channel, updateId }, "duplicate update skipped");
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

  dispatcher = new Dispatcher({ store, senders, logger: logger.child({ component: "dispatcher" }), now });
  if (config.WEB_CHAT_ENABLED) registerWebChat(server, { store, receive, locales, course });
  server.get("/health", async () => ({ ok: true, course: course.id, version: course.version }));

  const app: App = {
    config, server, store, course, context, database, dispatcher, telegram, logger, receive,
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
      if (telegram && !config.PUBLIC_URL) telegram.startPolling();
      return address;
    },
    close: async () => {
      await telegram?.stop();
      await dispatcher?.stop();
      await server.close();
      database.close();
    },
  };
  return app;
}
