/**
 * A stand-in for whatsapp-web.js 1.34's Client, for tests: an EventEmitter
 * with initialize, destroy, sendMessage and getState, which emits the
 * library's events (qr, authenticated, ready, auth_failure, disconnected,
 * change_state, message) with objects shaped like its Message. No browser
 * starts and nothing leaves the process.
 *
 * ```ts
 * const whatsapp = new FakeWhatsApp();
 * const channel = new WhatsAppChannel({ ...settings, clientFactory: whatsapp.factory });
 * await channel.start();          // the client emits "qr"
 * whatsapp.client.scanQr();       // "authenticated", then "ready"
 * whatsapp.client.receive({ from: "15551234567@c.us", body: "hi" });
 * whatsapp.client.sentTo("15551234567@c.us");
 * ```
 *
 * Like LocalAuth, a client keeps its link in `<sessionDir>/session`: after
 * `scanQr()`, a client built later on the same session dir starts linked,
 * without a QR code, until that folder is removed.
 *
 * Deliberate differences from the library: events fire synchronously inside
 * `initialize()` (the library fires them later, from the page), and
 * `sendMessage` returns only the sent message's id.
 */
import { EventEmitter } from "node:events";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ClientSpec, WhatsAppClient, WhatsAppClientFactory } from "../../src/channels/whatsapp/client.js";
import type { WhatsAppMessage } from "../../src/channels/whatsapp/inbound.js";

/** The number the fake client is linked as. */
export const fakeOwnAddress = "15550000000@c.us";

/**
 * How one call of `initialize()` ends: "ok" at once, "reject" with a
 * navigation error, "hang" never, "late" after `lateInitializeMs`.
 */
export type InitializeOutcome = "ok" | "reject" | "hang" | "late";

/** Delay of a "late" initialize(), in ms. */
export const lateInitializeMs = 50;

export interface SentMessage {
  chatId: string;
  /** The text, or for an image `[image <url>] <caption>`. */
  content: string;
  options: { linkPreview?: boolean } | undefined;
}

/** The error of initialize() when web.whatsapp.com does not resolve, in the form of puppeteer's page.goto errors. */
export const navigationError = "net::ERR_NAME_NOT_RESOLVED at https://web.whatsapp.com/";

/** The fake's world: every client built so far and the specs they were built from. */
export class FakeWhatsApp {
  readonly clients: FakeWhatsAppClient[] = [];
  readonly specs: ClientSpec[] = [];
  /** Outcomes for the next `initialize()` calls, first to last. Once it is empty, calls succeed. */
  readonly initializeOutcomes: InitializeOutcome[] = [];

  readonly factory: WhatsAppClientFactory = (spec) => {
    const client = new FakeWhatsAppClient(spec, this.initializeOutcomes.shift() ?? "ok");
    this.specs.push(spec);
    this.clients.push(client);
    return client;
  };

  /** The client built last. */
  get client(): FakeWhatsAppClient {
    const client = this.clients.at(-1);
    if (!client) throw new Error("no WhatsApp client was built yet");
    return client;
  }
}

let messageCounter = 0;

export class FakeWhatsAppClient extends EventEmitter implements WhatsAppClient {
  readonly sent: SentMessage[] = [];
  /** QR codes emitted, in order. */
  readonly qrCodes: string[] = [];
  initializeCalls = 0;
  destroyCalls = 0;
  destroyed = false;
  /** When set, the next sendMessage calls throw it. */
  sendError: Error | null = null;
  /** When set, sendImage throws it, as the library does when the image cannot be fetched. */
  imageError: Error | null = null;
  private state: string | null = null;

  constructor(
    readonly spec: ClientSpec,
    private readonly outcome: InitializeOutcome,
  ) {
    super();
  }

  private get linkFile(): string {
    return join(this.spec.sessionDir, "session", "fake-link.json");
  }

  async initialize(): Promise<void> {
    this.initializeCalls += 1;
    if (this.outcome === "reject") throw new Error(navigationError);
    if (this.outcome === "hang") return new Promise<void>(() => undefined);
    if (this.outcome === "late") return new Promise<void>((resolve) => setTimeout(resolve, lateInitializeMs));
    mkdirSync(join(this.spec.sessionDir, "session"), { recursive: true });
    if (existsSync(this.linkFile)) {
      this.link();
    } else {
      this.state = "UNPAIRED";
      this.showQr();
    }
  }

  /** Emits a new QR code, as WhatsApp Web does about every 20 seconds. */
  showQr(): string {
    const qr = `2@fake${this.qrCodes.length + 1}${"A".repeat(60)},${"B".repeat(44)}=,${"C".repeat(44)}=,${"D".repeat(44)}=,1`;
    this.qrCodes.push(qr);
    this.emit("qr", qr);
    return qr;
  }

  /** Links the session as a phone scanning the QR code does. */
  scanQr(): void {
    writeFileSync(this.linkFile, JSON.stringify({ linked: true }));
    this.link();
  }

  private link(): void {
    this.emit("authenticated");
    this.state = "CONNECTED";
    this.emit("change_state", "CONNECTED");
    this.emit("ready");
  }

  /** Drops the connection with a WAState reason such as "NAVIGATION" or "CONFLICT". */
  disconnect(reason: string): void {
    this.state = reason;
    this.emit("disconnected", reason);
  }

  /**
   * Unlinks the device from the phone. Like the library, the client emits
   * "disconnected" with "LOGOUT", empties the session folder and, unless `showNewQr`
   * is false, opens WhatsApp Web again, which emits a new QR code.
   */
  logOutFromPhone(showNewQr = true): void {
    this.state = "UNPAIRED";
    this.emit("disconnected", "LOGOUT");
    // The library removes LocalAuth's folder and creates it again, empty.
    rmSync(join(this.spec.sessionDir, "session"), { recursive: true, force: true });
    mkdirSync(join(this.spec.sessionDir, "session"), { recursive: true });
    if (showNewQr) this.showQr();
  }

  /** Emits a message from a learner; `fields` override the defaults of a text from `from`. */
  receive(fields: Partial<FakeMessage> & { from: string }): FakeMessage {
    const message = fakeMessage(fields);
    this.emit("message", message);
    return message;
  }

  async sendMessage(chatId: string, content: string, options?: { linkPreview?: boolean }): Promise<{ id: { _serialized: string } } | undefined> {
    if (this.destroyed) throw new Error("Protocol error (Runtime.callFunctionOn): Session closed. Most likely the page has been closed.");
    if (this.sendError) throw this.sendError;
    this.sent.push({ chatId, content, options });
    return { id: { _serialized: `true_${chatId}_FAKE${this.sent.length}` } };
  }

  async sendImage(chatId: string, url: string, caption: string): Promise<{ id: { _serialized: string } } | undefined> {
    if (this.destroyed) throw new Error("Protocol error (Runtime.callFunctionOn): Session closed. Most likely the page has been closed.");
    if (this.imageError) throw this.imageError;
    this.sent.push({ chatId, content: `[image ${url}] ${caption}`, options: undefined });
    return { id: { _serialized: `true_${chatId}_FAKE${this.sent.length}` } };
  }

  async getState(): Promise<string | null> {
    return this.destroyed ? null : this.state;
  }

  async destroy(): Promise<void> {
    this.destroyCalls += 1;
    this.destroyed = true;
  }

  /** Texts sent to one chat, in order. */
  sentTo(chatId: string): string[] {
    return this.sent.filter((message) => message.chatId === chatId).map((message) => message.content);
  }
}

/** A Message as whatsapp-web.js emits it, with the fields the channel reads and a few more. */
export interface FakeMessage extends WhatsAppMessage {
  ack: number;
  deviceType: string;
  hasQuotedMsg: boolean;
  isForwarded: boolean;
  mentionedIds: string[];
}

/** Builds a Message: a text from `from` to the fake's own number, with `fields` overriding the defaults. */
export function fakeMessage(fields: Partial<FakeMessage> & { from: string }): FakeMessage {
  messageCounter += 1;
  const fromMe = fields.fromMe ?? false;
  const remote = fields.id?.remote ?? fields.from;
  const key = fields.id?.id ?? `3EB0FAKE${String(messageCounter).padStart(8, "0")}`;
  return {
    ack: 1,
    deviceType: "android",
    hasQuotedMsg: false,
    isForwarded: false,
    mentionedIds: [],
    to: fakeOwnAddress,
    body: "",
    type: "chat",
    timestamp: Math.floor(Date.now() / 1000),
    hasMedia: false,
    isStatus: false,
    broadcast: false,
    ...fields,
    fromMe,
    id: { _serialized: `${fromMe}_${remote}_${key}`, fromMe, remote, id: key },
  };
}
