import type { Logger } from "pino";
import type { Outbound } from "./engine/types.js";
import type { Lane, OutboxRow, Store } from "./store.js";

/** The reason a send failed, as a channel adapter classifies its platform's error. */
export type SendFailure =
  /** The platform asked to wait; `global` when the limit is the bot's, not the chat's. */
  | { kind: "rate_limited"; retryAfterMs: number; global: boolean; message: string }
  /** A network failure or a 5xx: worth trying again later. */
  | { kind: "transient"; message: string }
  /** The learner blocked the bot or left the platform: stop sending to them. */
  | { kind: "unreachable"; message: string }
  /** The platform rejected this message; trying again would fail the same way. */
  | { kind: "rejected"; message: string }
  /**
   * A guard of the sender held the message back before sending it: it stays
   * pending and is tried again after `retryAfterMs`, and the attempt is not
   * counted. With `global`, the whole channel waits. Otherwise only this
   * chat's lane waits, so that replies still pass a hold on bulk messages.
   */
  | { kind: "held"; retryAfterMs: number; global: boolean; message: string };

/** Raised by a channel sender with the failure classified. */
export class SendError extends Error {
  override readonly name = "SendError";
  constructor(readonly failure: SendFailure) {
    super(failure.message);
  }
}

/** Facts about the outbox row being sent, which the dispatcher passes to the sender. */
export interface SendContext {
  lane: Lane;
}

/** Sends channel-neutral messages on one platform. */
export interface ChannelSender {
  readonly channel: string;
  /** Minimum gap between two messages to one chat, in ms. */
  readonly perChatIntervalMs: number;
  /** Maximum messages per second across all chats; `Infinity` for no limit. */
  readonly globalPerSecond: number;
  /** Sends one message; returns the platform's message id. Throws SendError. */
  send(address: string, message: Outbound, context?: SendContext): Promise<string | null>;
}

export interface DispatcherOptions {
  store: Store;
  senders: ChannelSender[];
  logger: Logger;
  /** Attempts before a transiently failing message is marked failed. */
  maxAttempts?: number;
  /** First retry delay in ms; doubles with each attempt. */
  backoffMs?: number;
  /** Pause between passes when nothing is due, in ms. */
  idleMs?: number;
  /** Slots per second that bulk sends leave for replies; default a sixth of the channel's rate. */
  replyReserve?: number;
  now?: () => number;
  /** Called when a learner is unreachable, to stop further sends to them. */
  onUnreachable?: (channel: string, address: string) => void;
}

/**
 * Sends the outbox through the channel senders: in order for each chat,
 * within each platform's per-chat and global rates, replies before bulk.
 */
export class Dispatcher {
  private readonly chatReadyAt = new Map<string, number>();
  /** When a held lane of a chat may be tried again, by `channel:address:lane`. */
  private readonly laneReadyAt = new Map<string, number>();
  private readonly busy = new Set<string>();
  private readonly globalReadyAt = new Map<string, number>();
  private readonly sentTimes = new Map<string, number[]>();
  /** When the bulk lane of a channel may send again after a bot-wide 429. */
  private readonly bulkReadyAt = new Map<string, number>();
  private readonly recent429 = new Map<string, { at: number; address: string }[]>();
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly now: () => number;

  constructor(private readonly options: DispatcherOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Starts sending; rows left in flight by a crash are sent again. */
  start(): void {
    const recovered = this.options.store.recoverInFlight();
    if (recovered > 0) this.options.logger.warn({ recovered }, "outbox rows left in flight are pending again");
    this.running = true;
    this.loop = this.run();
  }

  /** Wakes the dispatcher at once, after new rows were written. */
  kick(): void {
    this.wake?.();
  }

  /** Stops after the sends in flight finish. */
  async stop(): Promise<void> {
    this.running = false;
    this.kick();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let started = 0;
      try {
        started = this.startDue();
      } catch (error) {
        this.options.logger.error({ err: error }, "dispatcher pass failed");
      }
      if (!this.running) break;
      // After a pass that started sends, look again soon: more may be due
      // once the rate window moves. Finished sends wake the loop as well.
      await this.sleep(started > 0 ? 20 : this.options.idleMs ?? 250);
    }
    await Promise.allSettled(this.inFlight);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.timer = setTimeout(resolve, ms);
      this.wake = () => {
        if (this.timer) clearTimeout(this.timer);
        resolve();
      };
    }).then(() => {
      this.wake = null;
    });
  }

  /** Sends what is due now on every channel, waits for those sends, and returns how many there were. */
  async pass(): Promise<number> {
    const before = new Set(this.inFlight);
    const started = this.startDue();
    await Promise.allSettled([...this.inFlight].filter((sending) => !before.has(sending)));
    return started;
  }

  /**
   * Starts the sends that are due now on every channel and returns how many
   * it started; the sends finish in the background.
   */
  private startDue(): number {
    let started = 0;
    for (const sender of this.options.senders) {
      const now = this.now();
      if ((this.globalReadyAt.get(sender.channel) ?? 0) > now) continue;
      const bulkHeld = (this.bulkReadyAt.get(sender.channel) ?? 0) > now;
      for (const row of this.options.store.nextPerChat(sender.channel, now, this.batchSize(sender))) {
        if (row.lane === "bulk" && bulkHeld) continue;
        // A held lane keeps its later rows back too, so that they cannot overtake the held one.
        if ((this.laneReadyAt.get(`${sender.channel}:${row.address}:${row.lane}`) ?? 0) > now) continue;
        const key = `${sender.channel}:${row.address}`;
        if (this.busy.has(key) || (this.chatReadyAt.get(key) ?? 0) > now) continue;
        if (this.inFlightFor(sender.channel) >= this.batchSize(sender)) break;
        if (!this.takeGlobalSlot(sender, row.lane, now)) {
          if (row.lane === "reply") break;
          continue;
        }
        this.busy.add(key);
        this.options.store.markSending([row.id]);
        const sending = this.deliver(sender, row, key).finally(() => {
          this.busy.delete(key);
          this.inFlight.delete(sending);
          this.kick();
        });
        this.inFlight.add(sending);
        started++;
      }
    }
    return started;
  }

  /** Resolves when nothing is being sent, for tests and benchmarks. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Rows read per pass and sends in flight at most: two seconds' worth at the channel's rate. */
  private batchSize(sender: ChannelSender): number {
    return Number.isFinite(sender.globalPerSecond) ? Math.max(2, 2 * sender.globalPerSecond) : 500;
  }

  private inFlightFor(channel: string): number {
    let count = 0;
    for (const key of this.busy) if (key.startsWith(`${channel}:`)) count++;
    return count;
  }

  /**
   * Takes a slot in the channel's one-second window. Bulk sends leave
   * `replyReserve` slots free, so that a broadcast never delays a reply.
   */
  private takeGlobalSlot(sender: ChannelSender, lane: Lane, now: number): boolean {
    const times = (this.sentTimes.get(sender.channel) ?? []).filter((time) => time > now - 1000);
    this.sentTimes.set(sender.channel, times);
    if (!Number.isFinite(sender.globalPerSecond)) return true;
    const reserve = Math.min(this.replyReserve(sender), sender.globalPerSecond - 1);
    const limit = lane === "bulk" ? sender.globalPerSecond - reserve : sender.globalPerSecond;
    if (times.length >= limit) return false;
    times.push(now);
    return true;
  }

  private replyReserve(sender: ChannelSender): number {
    return this.options.replyReserve ?? Math.max(1, Math.floor(sender.globalPerSecond / 6));
  }

  private async deliver(sender: ChannelSender, row: OutboxRow, key: string): Promise<void> {
    const { store, logger } = this.options;
    try {
      const messageId = await sender.send(row.address, row.message, { lane: row.lane });
      store.markSent(row.id, this.now(), messageId);
      this.chatReadyAt.set(key, this.now() + sender.perChatIntervalMs);
    } catch (error) {
      const failure: SendFailure =
        error instanceof SendError ? error.failure : { kind: "transient", message: String((error as Error)?.message ?? error) };
      this.handleFailure(sender, row, key, failure);
      if (failure.kind === "held") {
        // The sender logs and counts its holds; one line per held row would flood the log.
        logger.debug({ outboxId: row.id, channel: row.channel, retryAfterMs: failure.retryAfterMs, error: failure.message }, "send held");
        return;
      }
      logger.warn({ outboxId: row.id, channel: row.channel, attempt: row.attempts + 1, failure: failure.kind, error: failure.message }, "send failed");
    }
  }

  /**
   * Telegram's 429 does not say whether a chat's or the bot's limit was hit.
   * A 429 for two different chats within a second is taken as the bot's.
   */
  private looksGlobal(channel: string, address: string, now: number): boolean {
    const recent = (this.recent429.get(channel) ?? []).filter((entry) => entry.at > now - 1000);
    recent.push({ at: now, address });
    this.recent429.set(channel, recent);
    return new Set(recent.map((entry) => entry.address)).size >= 2;
  }

  private handleFailure(sender: ChannelSender, row: OutboxRow, key: string, failure: SendFailure): void {
    const { store } = this.options;
    const now = this.now();
    const maxAttempts = this.options.maxAttempts ?? 5;
    switch (failure.kind) {
      case "rate_limited": {
        // A 429 does not count as an attempt: the message was never accepted.
        const until = now + failure.retryAfterMs;
        store.markRateLimited(row.id, until, failure.message);
        this.chatReadyAt.set(key, until);
        if (failure.global || this.looksGlobal(sender.channel, row.address, now)) {
          // The bot as a whole is over its limit: bulk waits, replies keep their reserve.
          this.bulkReadyAt.set(sender.channel, Math.max(this.bulkReadyAt.get(sender.channel) ?? 0, until));
        }
        return;
      }
      case "transient": {
        if (row.attempts + 1 >= maxAttempts) return store.markFailed(row.id, failure.message);
        const until = now + (this.options.backoffMs ?? 1000) * 2 ** row.attempts;
        store.markRetry(row.id, until, failure.message);
        this.chatReadyAt.set(key, until);
        return;
      }
      case "unreachable":
        store.markFailed(row.id, failure.message);
        this.options.onUnreachable?.(row.channel, row.address);
        return;
      case "rejected":
        store.markFailed(row.id, failure.message);
        return;
      case "held":
        store.markRateLimited(row.id, now + failure.retryAfterMs, failure.message);
        if (failure.global) this.globalReadyAt.set(sender.channel, now + failure.retryAfterMs);
        else this.laneReadyAt.set(`${key}:${row.lane}`, now + failure.retryAfterMs);
        return;
    }
  }
}
