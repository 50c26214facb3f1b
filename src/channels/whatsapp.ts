import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { SendError, type ChannelSender, type SendContext, type SendFailure } from "../dispatcher.js";
import type { Inbound, Outbound } from "../engine/types.js";
import { imageFallback, splitForLimit, toWhatsApp } from "../render/markdown.js";
import {
  browserArgs,
  createWhatsAppClient,
  sessionFolderName,
  type ClientSpec,
  type WhatsAppClient,
  type WhatsAppClientFactory,
} from "./whatsapp/client.js";
import { SendGuards, type GuardSettings, type GuardStats, type HeldDecision } from "./whatsapp/guards.js";
import { toInbound, type IgnoreReason, type WhatsAppMessage } from "./whatsapp/inbound.js";
import { qrForTerminal } from "./whatsapp/qr.js";
import { chatRef } from "./whatsapp/redact.js";

/**
 * Maximum length of one WhatsApp message that the channel sends, in
 * characters. WhatsApp accepts much longer texts, but 4096 keeps each
 * message readable on a phone and matches Telegram.
 */
export const whatsappMessageLimit = 4096;
/** WhatsApp's caption limit for an image, in characters, as the course content is checked against. */
export const whatsappCaptionLimit = 1024;

/** The state of the link to WhatsApp, as the operator page shows it. */
export type LinkState = "stopped" | "starting" | "qr" | "authenticated" | "ready" | "reconnecting" | "logged_out" | "failed";

export interface LinkStatus {
  state: LinkState;
  /** The QR code's data while `state` is "qr", else null. */
  qr: string | null;
  /** One or two sentences for the operator: the current situation and the next step. */
  detail: string;
  /** When the state last changed, in Unix ms. */
  since: number;
}

/** Runs `run` once after `delayMs`. Tests replace it to control reconnect timing. */
export type Scheduler = (run: () => void, delayMs: number) => { cancel(): void };

export interface WhatsAppOptions extends Omit<GuardSettings, "stateFile"> {
  /** LocalAuth's data path, where the linked session survives restarts. */
  sessionDir: string;
  chromiumPath: string;
  /** JSON file of the chats that wrote first and today's bulk count. */
  guardFile: string;
  logger: Logger;
  /** Handler of one normalised message. The host runs the engine and commits. */
  onInbound: (address: string, updateId: string, inbound: Inbound) => void | Promise<void>;
  clientFactory?: WhatsAppClientFactory;
  now?: () => number;
  schedule?: Scheduler;
  /** Limit for `initialize()`, which has no timeout of its own, in ms (default 120,000). */
  initializeTimeoutMs?: number;
  /** Limit for one `sendMessage`, in ms (default 30,000). */
  sendTimeoutMs?: number;
  /** First reconnect delay, doubled at each failed attempt, in ms (default 1000). */
  reconnectBaseMs?: number;
  /** Maximum reconnect delay, in ms (default 300,000). */
  reconnectMaxMs?: number;
  /** Wait for the library's own new QR code after a logout before starting a new client, in ms (default 60,000). */
  relinkTimeoutMs?: number;
  /** Prints the QR code for the terminal (default: standard output). */
  printQr?: (text: string) => void;
}

const defaultSchedule: Scheduler = (run, delayMs) => {
  const timer = setTimeout(run, delayMs);
  timer.unref();
  return { cancel: () => clearTimeout(timer) };
};

/**
 * The WhatsApp channel through whatsapp-web.js, which drives WhatsApp Web as
 * a linked device: it links and relinks the number, turns messages from
 * learners into inbound messages, and sends the outbox within the guards.
 */
export class WhatsAppChannel implements ChannelSender {
  readonly channel = "whatsapp";
  readonly perChatIntervalMs: number;
  readonly globalPerSecond: number;
  /** Options of every client, the same at each reconnect and restart, so that LocalAuth finds the saved session. */
  readonly spec: ClientSpec;
  private readonly guards: SendGuards;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly factory: WhatsAppClientFactory;
  private readonly schedule: Scheduler;
  private client: WhatsAppClient | null = null;
  private status: LinkStatus;
  private reconnectAttempt = 0;
  private reconnectTimer: { cancel(): void } | null = null;
  private relinkTimer: { cancel(): void } | null = null;
  private stopped = true;
  private readonly ignored: Record<IgnoreReason, number> = { from_me: 0, status: 0, group: 0, not_personal: 0, system: 0 };

  constructor(private readonly options: WhatsAppOptions) {
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.factory = options.clientFactory ?? createWhatsAppClient;
    this.schedule = options.schedule ?? defaultSchedule;
    this.perChatIntervalMs = options.minChatGapMs;
    // The dispatcher only counts sends per second, so the guards keep the exact gap.
    this.globalPerSecond = options.minGlobalGapMs > 0 ? Math.max(1, Math.floor(1000 / options.minGlobalGapMs)) : Number.POSITIVE_INFINITY;
    this.spec = { sessionDir: options.sessionDir, chromiumPath: options.chromiumPath, browserArgs };
    this.guards = new SendGuards(
      {
        minChatGapMs: options.minChatGapMs,
        minGlobalGapMs: options.minGlobalGapMs,
        dailyCap: options.dailyCap,
        paused: options.paused,
        stateFile: options.guardFile,
      },
      this.now,
      this.logger,
    );
    this.status = { state: "stopped", qr: null, detail: "WhatsApp has not started yet.", since: this.now() };
  }

  linkStatus(): LinkStatus {
    return { ...this.status };
  }

  guardStats(): GuardStats {
    return this.guards.stats();
  }

  /** Messages that got no reply since the start, by reason. */
  ignoredStats(): Record<IgnoreReason, number> {
    return { ...this.ignored };
  }

  /**
   * Starts the client in the background of the service. Never rejects: a
   * missing browser or a failed start is logged and shown on the operator
   * page, and a failed start is tried again with backoff.
   */
  async start(): Promise<void> {
    this.stopped = false;
    const { chromiumPath } = this.options;
    if (!existsSync(chromiumPath)) {
      const detail = `Chromium was not found at ${chromiumPath}. Install it (apt-get install chromium) or set WHATSAPP_CHROMIUM_PATH, then restart. The rest of the service runs without WhatsApp.`;
      this.setStatus("failed", detail);
      this.logger.error({ chromiumPath }, "whatsapp cannot start: Chromium not found; install it or set WHATSAPP_CHROMIUM_PATH");
      return;
    }
    this.logger.info({ sessionDir: this.options.sessionDir }, "whatsapp starting");
    await this.connectSafely();
  }

  /** Stops reconnecting and closes the browser. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.reconnectTimer?.cancel();
    this.reconnectTimer = null;
    this.relinkTimer?.cancel();
    this.relinkTimer = null;
    const client = this.client;
    this.client = null;
    if (client) await this.discard(client);
    this.setStatus("stopped", "WhatsApp is stopped.");
  }

  private async connectSafely(): Promise<void> {
    try {
      await this.connect();
    } catch (error) {
      this.logger.error({ err: error }, "whatsapp connect failed unexpectedly");
      this.scheduleReconnect("connect failed");
    }
  }

  private async connect(): Promise<void> {
    this.reconnectTimer = null;
    if (this.stopped) return;
    this.setStatus("starting", "Starting WhatsApp Web: waiting for the saved session or a new QR code.");
    let client: WhatsAppClient;
    try {
      client = await this.factory(this.spec);
    } catch (error) {
      this.logger.error({ err: error }, "whatsapp client could not be created");
      this.scheduleReconnect("client creation failed");
      return;
    }
    if (this.stopped) return;
    this.client = client;
    this.attach(client);

    const timeoutMs = this.options.initializeTimeoutMs ?? 120_000;
    const initializing = client.initialize();
    try {
      await withTimeout(initializing, timeoutMs, "WhatsApp Web initialize()");
    } catch (error) {
      // A disconnect or a stop during the start already replaced this client.
      if (this.client !== client) return;
      this.client = null;
      this.logger.error(
        { err: error, timeoutMs },
        "whatsapp client failed to start: check that this host reaches web.whatsapp.com and that WHATSAPP_CHROMIUM_PATH runs",
      );
      await this.discard(client);
      if (error instanceof TimeoutError) {
        // initialize() goes on after the timeout and may open a browser later.
        initializing
          .catch(() => undefined)
          .then(() => client.destroy())
          .catch(() => undefined);
      }
      this.scheduleReconnect(`start failed: ${errorText(error)}`);
      return;
    }
    // Stopped while starting: close the browser that initialize() opened.
    if (this.client !== client) await client.destroy().catch(() => undefined);
  }

  /** Subscribes to the client's events and drops those of a replaced client. */
  private attach(client: WhatsAppClient): void {
    const on = (event: string, handle: (...args: unknown[]) => void) => {
      client.on(event, (...args: unknown[]) => {
        if (this.client === client) handle(...args);
      });
    };
    on("qr", (qr) => this.showQr(String(qr)));
    on("authenticated", () => this.setStatus("authenticated", "Linked. WhatsApp Web is loading the chats."));
    on("ready", () => {
      this.reconnectAttempt = 0;
      this.setStatus("ready", "Linked and connected: learners can write to the number.");
      this.logger.info("whatsapp ready");
    });
    on("auth_failure", (message) => void this.relink(client, `authentication failed: ${String(message)}`));
    on("disconnected", (reason) => {
      if (reason === "LOGOUT") return this.awaitNewQr(client);
      this.logger.warn({ reason: String(reason) }, "whatsapp disconnected");
      this.client = null;
      void this.discard(client);
      this.scheduleReconnect(`disconnected: ${String(reason)}`);
    });
    on("change_state", (state) => this.logger.debug({ state: String(state) }, "whatsapp state changed"));
    on("message", (message) => void this.receive(message as WhatsAppMessage));
  }

  private showQr(qr: string): void {
    this.relinkTimer?.cancel();
    this.relinkTimer = null;
    const first = this.status.state !== "qr";
    this.setStatus(
      "qr",
      "Scan this QR code with the phone of the course's number: WhatsApp, Settings, Linked devices, Link a device. The code changes about every 20 seconds, and this page reloads.",
      qr,
    );
    (this.options.printQr ?? ((text: string) => process.stdout.write(`${text}\n`)))(qrForTerminal(qr));
    if (first) {
      this.logger.info("whatsapp needs linking: scan the QR code printed above, or open /whatsapp/qr?token=<WHATSAPP_OPERATOR_TOKEN> on this server");
    }
  }

  /**
   * Handles a logout from the phone. whatsapp-web.js handles it on its own
   * page: it removes the LocalAuth session and opens WhatsApp Web again, which
   * shows a new QR code. Closing the browser meanwhile would make that
   * handler fail with an unhandled rejection, so the channel starts a new
   * client only when no QR code came within `relinkTimeoutMs`.
   */
  private awaitNewQr(client: WhatsAppClient): void {
    this.logger.warn("whatsapp session logged out from the phone: a new QR code is needed; open /whatsapp/qr");
    this.setStatus("logged_out", "The phone logged this device out. A new QR code appears here shortly.");
    this.relinkTimer?.cancel();
    this.relinkTimer = this.schedule(() => {
      this.relinkTimer = null;
      if (this.client === client && this.status.state === "logged_out") void this.relink(client, "no new QR code after the logout");
    }, this.options.relinkTimeoutMs ?? 60_000);
  }

  /**
   * Ends a session that WhatsApp no longer accepts: closes the browser,
   * removes LocalAuth's session folder and starts again, which shows a new QR code.
   */
  private async relink(client: WhatsAppClient, reason: string): Promise<void> {
    this.logger.warn({ reason }, "whatsapp session ended: a new QR code is needed; open /whatsapp/qr");
    this.client = null;
    this.reconnectAttempt = 0;
    this.setStatus("logged_out", `The session ended (${reason}). A new QR code appears here shortly.`);
    await this.discard(client);
    const folder = join(this.options.sessionDir, sessionFolderName);
    await rm(folder, { recursive: true, force: true, maxRetries: 4 }).catch((error: unknown) => {
      this.logger.error({ err: error, folder }, "whatsapp session folder could not be removed; delete it by hand if no QR code appears");
    });
    this.scheduleReconnect(reason, "logged_out");
  }

  private scheduleReconnect(reason: string, state: "reconnecting" | "logged_out" = "reconnecting"): void {
    if (this.stopped) return;
    this.reconnectTimer?.cancel();
    this.reconnectAttempt += 1;
    const base = this.options.reconnectBaseMs ?? 1000;
    const delayMs = Math.min(base * 2 ** (this.reconnectAttempt - 1), this.options.reconnectMaxMs ?? 300_000);
    if (state === "reconnecting") {
      this.setStatus("reconnecting", `WhatsApp Web is not connected (${reason}). Trying again in ${Math.ceil(delayMs / 1000)} s (attempt ${this.reconnectAttempt}).`);
    }
    this.logger.warn({ reason, attempt: this.reconnectAttempt, delayMs }, "whatsapp reconnect scheduled");
    this.reconnectTimer = this.schedule(() => void this.connectSafely(), delayMs);
  }

  /** Closes a client's browser. Its listeners stay, and `attach` drops their events. */
  private async discard(client: WhatsAppClient): Promise<void> {
    await client.destroy().catch((error: unknown) => {
      this.logger.warn({ err: error }, "whatsapp client destroy failed");
    });
  }

  private async receive(message: WhatsAppMessage): Promise<void> {
    const decision = toInbound(message);
    if (decision.kind === "ignored") {
      this.ignored[decision.reason] += 1;
      this.logger.debug({ reason: decision.reason, type: message.type }, "whatsapp message ignored");
      return;
    }
    this.guards.recordFirstMessage(message.from);
    try {
      await this.options.onInbound(message.from, message.id._serialized, decision.inbound);
    } catch (error) {
      this.logger.error({ err: error, chat: chatRef(message.from), messageId: message.id.id }, "whatsapp message handling failed");
    }
  }

  /**
   * Sends one message, split at `whatsappMessageLimit`, with the choices as a
   * numbered list. Throws SendError: `held` when a guard keeps it back.
   */
  async send(address: string, message: Outbound, context?: SendContext): Promise<string | null> {
    const lane = context?.lane;
    const parts = renderForWhatsApp(message);
    const client = this.status.state === "ready" ? this.client : null;
    if (client === null) throw new SendError(heldFailure(this.guards.holdNotConnected()));
    const decision = this.guards.check(address, lane, parts.length);
    if (!decision.allowed) throw new SendError(heldFailure(decision));
    this.guards.reserve(address, lane, parts.length);

    // NOTE: the parts of a split message go out back to back, not spaced by the chat gap.
    let lastId: string | null = null;
    if (message.image) {
      const { outcome, id } = await this.sendImage(client, address, message.image, parts[0] ?? "");
      lastId = id;
      if (outcome === "failed") parts.unshift(toWhatsApp(imageFallback(message.image)));
      if (outcome === "captioned") parts.shift();
    }
    for (const part of parts) {
      let sent: Awaited<ReturnType<WhatsAppClient["sendMessage"]>>;
      try {
        sent = await withTimeout(client.sendMessage(address, part, { linkPreview: false }), this.options.sendTimeoutMs ?? 30_000, "sendMessage");
      } catch (error) {
        throw new SendError(classifyWhatsAppError(error));
      } finally {
        this.guards.recordSend(address);
      }
      if (!sent) throw new SendError({ kind: "transient", message: "sendMessage returned no message: WhatsApp Web did not find the chat" });
      lastId = sent.id._serialized;
    }
    return lastId;
  }

  /**
   * Sends an image with the first part as caption when that fits WhatsApp's
   * caption limit, else with its description. Returns `captioned` or
   * `alone` (the text still has to go), or `failed` when the image could
   * not be fetched or sent, so the caller sends its link as text.
   */
  private async sendImage(
    client: WhatsAppClient,
    address: string,
    image: { url: string; alt: string },
    firstPart: string,
  ): Promise<{ outcome: "captioned" | "alone" | "failed"; id: string | null }> {
    const captionFits = firstPart.length <= whatsappCaptionLimit;
    try {
      const sent = await withTimeout(client.sendImage(address, image.url, captionFits ? firstPart : image.alt), this.options.sendTimeoutMs ?? 30_000, "sendImage");
      if (!sent) return { outcome: "failed", id: null };
      return { outcome: captionFits ? "captioned" : "alone", id: sent.id._serialized };
    } catch (error) {
      this.options.logger.warn({ error: (error as Error)?.message ?? String(error) }, "image not sent: sending its link as text");
      return { outcome: "failed", id: null };
    } finally {
      this.guards.recordSend(address);
    }
  }

  private setStatus(state: LinkState, detail: string, qr: string | null = null): void {
    this.status = { state, qr, detail, since: this.now() };
  }
}

/**
 * Renders a message as WhatsApp text: the Markdown subset with WhatsApp's
 * markers, then the choices as a numbered list ("1. label" per line, rows
 * flattened), so that learners reply by typing a number. Returns the parts
 * to send, each within `whatsappMessageLimit`.
 */
export function renderForWhatsApp(message: Outbound): string[] {
  const list = (message.choices ?? []).flat().map((choice, index) => `${index + 1}. ${choice.label}`);
  const markdown = list.length > 0 ? `${message.text}\n\n${list.join("\n")}` : message.text;
  return splitForLimit(markdown, whatsappMessageLimit, toWhatsApp).map(toWhatsApp);
}

/**
 * Classifies a sendMessage error. whatsapp-web.js reports no rate limits or
 * blocks: an invalid address is rejected, and everything else (a closed
 * page, a timeout, a failed evaluation) is transient.
 */
export function classifyWhatsAppError(error: unknown): SendFailure {
  // Long digit runs are phone numbers, which the logs must not show.
  const text = errorText(error).replace(/\d{7,}/g, "<number>");
  const message = `sendMessage failed: ${text}`;
  if (/invalid wid|wid error/i.test(text)) return { kind: "rejected", message };
  return { kind: "transient", message };
}

function heldFailure(decision: HeldDecision): SendFailure {
  return { kind: "held", retryAfterMs: decision.retryAfterMs, global: decision.global, message: `${decision.guard}: ${decision.message}` };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class TimeoutError extends Error {
  override readonly name = "TimeoutError";
}

/** Rejects with TimeoutError when `promise` takes longer than `ms`. The promise itself goes on. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
