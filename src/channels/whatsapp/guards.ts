import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "pino";
import type { Lane } from "../../store.js";
import { chatRef } from "./redact.js";

/**
 * Limits on what the service sends through WhatsApp. WhatsApp does not allow
 * unofficial clients such as whatsapp-web.js and bans numbers that send in
 * bulk, so every send passes these checks first.
 */
export interface GuardSettings {
  /** Minimum gap between two messages to one chat, in ms. */
  minChatGapMs: number;
  /** Minimum gap between two messages to any chats, in ms. */
  minGlobalGapMs: number;
  /** Maximum bulk messages per UTC day. Replies to learners do not count. */
  dailyCap: number;
  /** When true, keeps every bulk message in the outbox but lets replies out. */
  paused: boolean;
  /** JSON file that keeps the chats that wrote first and today's bulk count across restarts. */
  stateFile: string;
}

/** The guards, by the name that logs, stats and held messages use. */
export type GuardName = "not_connected" | "no_first_message" | "paused" | "daily_cap" | "chat_gap" | "global_gap";

export const guardNames: readonly GuardName[] = [
  "not_connected",
  "no_first_message",
  "paused",
  "daily_cap",
  "chat_gap",
  "global_gap",
];

/** A guard's decision to keep a send back. `global` is set when the hold applies to every chat. */
export interface HeldDecision {
  allowed: false;
  guard: GuardName;
  retryAfterMs: number;
  global: boolean;
  message: string;
}

export type GuardDecision = { allowed: true } | HeldDecision;

export interface GuardStats {
  /** Times each guard held a send back since the start. A message held twice counts twice. */
  held: Record<GuardName, number>;
  /** Bulk messages counted on the current UTC day. */
  bulkSentToday: number;
  dailyCap: number;
  paused: boolean;
  /** Chats that wrote to the number, so that the service may send to them. */
  chatsThatWrote: number;
}

/** How long a message to a chat that never wrote waits before it is checked again, in ms. */
export const noFirstMessageRetryMs = 10 * 60_000;
/** How long a bulk message waits while sending is paused before it is checked again, in ms. */
export const pausedRetryMs = 60_000;
/** How long every message waits while the client is not connected, in ms. */
export const notConnectedRetryMs = 5_000;
/** Minimum time between two log lines about one guard, in ms. */
const holdLogIntervalMs = 60_000;

interface StateFile {
  version: 1;
  /** When each chat first wrote, in Unix ms, by WhatsApp address. */
  firstMessageAt: Record<string, number>;
  /** Bulk messages counted on `day` (YYYY-MM-DD, UTC). */
  bulk: { day: string; count: number };
}

/**
 * Decides whether a message may go out now and records what went out. The
 * first-message record and the daily count are kept in memory and written to
 * `stateFile` at each change. The gaps are kept in memory only.
 */
export class SendGuards {
  private readonly firstMessageAt = new Map<string, number>();
  private bulk = { day: "", count: 0 };
  private readonly lastChatSendAt = new Map<string, number>();
  private lastGlobalSendAt = Number.NEGATIVE_INFINITY;
  private readonly heldCounts = Object.fromEntries(guardNames.map((name) => [name, 0])) as Record<GuardName, number>;
  private readonly lastHoldLogAt = new Map<GuardName, number>();

  constructor(
    private readonly settings: GuardSettings,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {
    this.load();
  }

  /** Records that a chat wrote to the number, which allows sending to it. */
  recordFirstMessage(address: string): void {
    if (this.firstMessageAt.has(address)) return;
    this.firstMessageAt.set(address, this.now());
    this.logger.info({ chat: chatRef(address), chatsThatWrote: this.firstMessageAt.size }, "whatsapp chat wrote for the first time");
    this.save();
  }

  /** Holds every send while the client is not linked and connected. */
  holdNotConnected(): HeldDecision {
    return this.hold("not_connected", notConnectedRetryMs, true, "the WhatsApp client is not linked and connected; the message waits for it");
  }

  /**
   * Checks a message of `parts` WhatsApp messages against every guard. A
   * message without a lane counts as bulk, the stricter of the two.
   */
  check(address: string, lane: Lane | undefined, parts: number): GuardDecision {
    const now = this.now();
    const bulk = lane !== "reply";
    if (!this.firstMessageAt.has(address)) {
      return this.hold("no_first_message", noFirstMessageRetryMs, false, "this chat never wrote to the number, and WhatsApp messages go only to chats that wrote first");
    }
    if (bulk && this.settings.paused) {
      return this.hold("paused", pausedRetryMs, false, "WHATSAPP_SEND_PAUSED is true, so bulk messages wait; replies to learners still go out");
    }
    if (bulk && this.bulkCountToday(now) + parts > this.settings.dailyCap) {
      return this.hold(
        "daily_cap",
        nextUtcMidnight(now) - now,
        false,
        `the daily cap of ${this.settings.dailyCap} bulk messages (WHATSAPP_DAILY_CAP) is reached; the message waits until 00:00 UTC`,
      );
    }
    const chatReadyAt = (this.lastChatSendAt.get(address) ?? Number.NEGATIVE_INFINITY) + this.settings.minChatGapMs;
    if (chatReadyAt > now) {
      return this.hold("chat_gap", chatReadyAt - now, false, `WHATSAPP_MIN_CHAT_GAP_MS keeps ${this.settings.minChatGapMs} ms between messages to one chat`);
    }
    const globalReadyAt = this.lastGlobalSendAt + this.settings.minGlobalGapMs;
    if (globalReadyAt > now) {
      return this.hold("global_gap", globalReadyAt - now, true, `WHATSAPP_MIN_GLOBAL_GAP_MS keeps ${this.settings.minGlobalGapMs} ms between any two messages`);
    }
    return { allowed: true };
  }

  /**
   * Records a send that passed `check`, before it starts: concurrent sends
   * then see the gaps, and a bulk send counts even if the platform fails
   * after taking it.
   */
  reserve(address: string, lane: Lane | undefined, parts: number): void {
    this.recordSend(address);
    if (lane === "reply") return;
    const now = this.now();
    this.bulk = { day: utcDay(now), count: this.bulkCountToday(now) + parts };
    this.save();
  }

  /** Records the time a message went out, which starts the gaps again. */
  recordSend(address: string): void {
    const now = this.now();
    this.lastChatSendAt.set(address, now);
    this.lastGlobalSendAt = now;
    if (this.lastChatSendAt.size > 10_000) this.pruneChatTimes(now);
  }

  stats(): GuardStats {
    return {
      held: { ...this.heldCounts },
      bulkSentToday: this.bulkCountToday(this.now()),
      dailyCap: this.settings.dailyCap,
      paused: this.settings.paused,
      chatsThatWrote: this.firstMessageAt.size,
    };
  }

  private bulkCountToday(now: number): number {
    return this.bulk.day === utcDay(now) ? this.bulk.count : 0;
  }

  private hold(guard: GuardName, retryAfterMs: number, global: boolean, message: string): HeldDecision {
    this.heldCounts[guard] += 1;
    const now = this.now();
    const lastLog = this.lastHoldLogAt.get(guard);
    if (lastLog === undefined || now - lastLog >= holdLogIntervalMs) {
      this.lastHoldLogAt.set(guard, now);
      this.logger.info({ guard, heldTotal: this.heldCounts[guard], retryAfterMs, reason: message }, "whatsapp guard held a message back");
    }
    return { allowed: false, guard, retryAfterMs, global, message };
  }

  private pruneChatTimes(now: number): void {
    for (const [address, at] of this.lastChatSendAt) {
      if (at + this.settings.minChatGapMs <= now) this.lastChatSendAt.delete(address);
    }
  }

  private load(): void {
    const file = this.settings.stateFile;
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      return this.distrust(error);
    }
    try {
      const state = JSON.parse(text) as Partial<StateFile>;
      if (state.version !== 1 || typeof state.firstMessageAt !== "object" || state.firstMessageAt === null) {
        throw new Error(`expected {"version": 1, "firstMessageAt": {...}, "bulk": {...}}`);
      }
      for (const [address, at] of Object.entries(state.firstMessageAt)) {
        if (typeof at === "number") this.firstMessageAt.set(address, at);
      }
      if (state.bulk && typeof state.bulk.day === "string" && Number.isInteger(state.bulk.count)) {
        this.bulk = { day: state.bulk.day, count: state.bulk.count };
      }
    } catch (error) {
      this.distrust(error);
    }
  }

  /**
   * Handles an unreadable state file. Today's bulk count is then unknown, so
   * it is taken as the cap: no bulk message goes out until the next UTC day.
   */
  private distrust(error: unknown): void {
    const file = this.settings.stateFile;
    this.bulk = { day: utcDay(this.now()), count: this.settings.dailyCap };
    const renamedTo = `${file}.unreadable`;
    try {
      if (existsSync(file)) renameSync(file, renamedTo);
    } catch {
      // The next save overwrites the file, which loses nothing that could be read.
    }
    this.logger.error(
      { err: error, file, renamedTo },
      "whatsapp guard file is unreadable: bulk messages wait until 00:00 UTC, and chats must write again before they get messages",
    );
  }

  private save(): void {
    const file = this.settings.stateFile;
    const state: StateFile = {
      version: 1,
      firstMessageAt: Object.fromEntries(this.firstMessageAt),
      bulk: this.bulk,
    };
    // Write then rename, so that a crash leaves the old file or the new one, never half of one.
    const temporary = `${file}.${process.pid}.tmp`;
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
      renameSync(temporary, file);
    } catch (error) {
      this.logger.error({ err: error, file }, "whatsapp guard file could not be written; the guards go on from memory");
    }
  }
}

/** Returns the UTC date of a Unix time in ms, as YYYY-MM-DD. */
export function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/** Returns the Unix time in ms of the next 00:00 UTC after `now`. */
export function nextUtcMidnight(now: number): number {
  const date = new Date(now);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1);
}
