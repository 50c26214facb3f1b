import { rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import pino from "pino";
import { handleInbound } from "../src/engine/engine.js";
import type { EngineContext, Outbound } from "../src/engine/types.js";
import { startBotApiStandIn } from "../test/support/bot-api-stand-in.js";
import { caseFolder, countFromEnv, createBenchApp, finishCase, median, RssSampler, type CaseResult } from "./measure.js";
import { heldLearner, tickAt } from "./scheduler.js";

/** Telegram chat ids of the bulk recipients and of the learners who write during the send start after these. */
const recipientBase = 2_000_000;
const learnerBase = 3_000_000;

/** Learners who send /start while the bulk send runs, at even intervals over its floor time. */
const learnerCount = 20;

/** Telegram's bulk rate in messages per second, from the Bots FAQ. Both the dispatcher and the stand-in use it. */
const telegramPerSecond = 30;

/**
 * Maximum bulk messages a second that the dispatcher sends at a channel rate
 * of 30 a second, because by default it keeps a sixth of the rate (5 a
 * second) for replies: `replyReserve` in src/dispatcher.ts.
 */
const bulkLanePerSecond = telegramPerSecond - Math.max(1, Math.floor(telegramPerSecond / 6));

/** A token in @BotFather's format, which the stand-in and the settings accept. */
const token = "123456789:AAE-bench-stand-in-token_0123";

/**
 * Case c: a bulk send of one lesson to each of `BENCH_RECIPIENTS` chats
 * through the app's dispatcher to the Bot API stand-in, both at Telegram's
 * limits, while learners write /start and wait for the reply.
 */
export async function bulkCase(): Promise<CaseResult> {
  const sampler = new RssSampler(250);
  const recipients = countFromEnv("BENCH_RECIPIENTS", 10_000);
  const floorMs = (recipients / telegramPerSecond) * 1000;
  // Bounded: three times the floor and two minutes more, then the case fails.
  const deadlineMs = 3 * floorMs + 120_000;

  const standIn = await startBotApiStandIn({ token, limits: {} });
  // The stand-in's call times count from its start, which is within a millisecond of this.
  const standInEpoch = performance.now();
  const warnings = new Map<string, number>();
  const logger = pino({ level: "warn" }, {
    write: (line: string) => {
      const { msg, failure } = JSON.parse(line) as { msg?: string; failure?: string };
      const key = failure ? `${msg}: ${failure}` : String(msg);
      warnings.set(key, (warnings.get(key) ?? 0) + 1);
    },
  });
  const folder = caseFolder("bulk");
  const app = await createBenchApp(
    {
      DATABASE_FILE: join(folder, "bulk.sqlite"),
      HOST: "127.0.0.1",
      PORT: "0",
      TELEGRAM_BOT_TOKEN: token,
      TELEGRAM_API_ROOT: standIn.apiRoot,
      TELEGRAM_CHAT_INTERVAL_MS: "1000",
      TELEGRAM_GLOBAL_PER_SECOND: String(telegramPerSecond),
    },
    { logger },
  );

  const lesson = releasedLesson(app.context);
  const insert = app.database.sqlite.prepare(
    "insert into outbox (channel, address, payload, lane, not_before, created_at) values ('telegram', ?, ?, 'bulk', ?, ?)",
  );
  const seededAt = Date.now();
  app.database.sqlite.transaction(() => {
    for (let index = 1; index <= recipients; index++) insert.run(String(recipientBase + index), JSON.stringify(lesson), seededAt, seededAt);
  })();
  for (let index = 1; index <= recipients; index++) standIn.openChat(recipientBase + index);

  const injectedAt = new Map<number, number>();
  const timers: NodeJS.Timeout[] = [];
  const startedAt = performance.now();
  await app.listen();
  for (let index = 0; index < learnerCount; index++) {
    const chatId = learnerBase + index;
    timers.push(setTimeout(() => {
      injectedAt.set(chatId, performance.now());
      standIn.sendCommand(chatId, "start");
    }, ((index + 0.5) * floorMs) / learnerCount));
  }

  const unsent = app.database.sqlite.prepare("select count(*) as count from outbox where lane = 'bulk' and status in ('pending', 'sending')");
  const replied = () => [...injectedAt.keys()].filter((chatId) => standIn.messages(chatId).length > 0).length;
  while ((unsent.get() as { count: number }).count > 0 || replied() < learnerCount) {
    if (performance.now() - startedAt > deadlineMs) {
      for (const timer of timers) clearTimeout(timer);
      await app.close();
      await standIn.close();
      throw new Error(`bulk send did not finish within ${Math.round(deadlineMs / 1000)} s: ${(unsent.get() as { count: number }).count} rows unsent, ${replied()} of ${learnerCount} learners got a reply`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const statuses = app.database.sqlite.prepare("select status, count(*) as count from outbox where lane = 'bulk' group by status").all() as { status: string; count: number }[];
  await app.close();

  const accepted = (chatId: number) =>
    standIn.calls(chatId).filter((call) => call.method === "sendMessage" && call.status === 200).map((call) => standInEpoch + call.at);
  const bulkCalls = standIn.calls().filter((call) => call.method === "sendMessage" && (call.chatId ?? 0) > recipientBase && (call.chatId ?? 0) <= recipientBase + recipients);
  const lastBulkAt = Math.max(...bulkCalls.filter((call) => call.status === 200).map((call) => standInEpoch + call.at));
  const delays = [...injectedAt.entries()].map(([chatId, at]) => Math.min(...accepted(chatId)) - at);
  const stats = standIn.stats();
  await standIn.close();
  rmSync(folder, { recursive: true, force: true });

  const totalMs = lastBulkAt - startedAt;
  const figures: Record<string, number> = {
    recipients,
    messageCharacters: lesson.text.length,
    floorMs,
    bulkLaneFloorMs: (recipients / bulkLanePerSecond) * 1000,
    totalMs,
    ratioToFloor: totalMs / floorMs,
    messagesPerSecond: recipients / (totalMs / 1000),
    bulkSendCalls: bulkCalls.length,
    tooManyRequests: stats.tooManyRequests,
    learners: learnerCount,
    replyDelayMedianMs: median(delays),
    replyDelayMaxMs: Math.max(...delays),
  };
  for (const { status, count } of statuses) figures[`rows.${status}`] = count;
  for (const [key, count] of warnings) figures[`log.${key}`] = count;
  return finishCase("bulk", figures, sampler);
}

/** Returns the first message that a release of the held lesson sends: a real lesson of module 1. */
function releasedLesson(context: EngineContext): Outbound {
  const result = handleInbound(heldLearner(context), { type: "release" }, context, tickAt);
  const first = result.messages[0];
  if (!first) throw new Error("the release sent no message");
  return first;
}
