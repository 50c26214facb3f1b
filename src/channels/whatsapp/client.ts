import { join, resolve } from "node:path";
import type WAWebJS from "whatsapp-web.js";

/**
 * The part of whatsapp-web.js's Client that the channel uses. The library's
 * listener types are loose, so the channel narrows the arguments itself.
 */
export interface WhatsAppClient {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Launches the browser and opens WhatsApp Web. Resolves before the QR code is scanned. */
  initialize(): Promise<void>;
  /** Closes the browser. */
  destroy(): Promise<void>;
  /** Resolves to the sent message, or to undefined when the chat is not found. */
  sendMessage(chatId: string, content: string, options?: { linkPreview?: boolean }): Promise<{ id: { _serialized: string } } | undefined>;
  getState(): Promise<string | null>;
  /** Fetches an image from `url` and sends it with a caption. */
  sendImage(chatId: string, url: string, caption: string): Promise<{ id: { _serialized: string } } | undefined>;
}

/** Settings that a client is built from. */
export interface ClientSpec {
  /** LocalAuth's data path: the linked session is kept in its `session` folder. */
  sessionDir: string;
  chromiumPath: string;
  browserArgs: readonly string[];
}

export type WhatsAppClientFactory = (spec: ClientSpec) => WhatsAppClient | Promise<WhatsAppClient>;

/**
 * Chromium flags. `--no-sandbox` is needed because Chromium does not start
 * its sandbox as root, which services in containers often are. The other
 * flags turn off background traffic that a headless WhatsApp Web does not need.
 */
export const browserArgs: readonly string[] = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** The folder under the session dir where LocalAuth keeps the linked session (no clientId set). */
export const sessionFolderName = "session";

/** Builds the library's options: LocalAuth in the session dir, headless Chromium at the given path. */
export function clientOptionsFor(library: typeof WAWebJS, spec: ClientSpec): WAWebJS.ClientOptions {
  const dataPath = resolve(spec.sessionDir);
  return {
    authStrategy: new library.LocalAuth({ dataPath }),
    puppeteer: { executablePath: spec.chromiumPath, args: [...spec.browserArgs], headless: true },
    // The library's default cache folder is ./.wwebjs_cache in the working directory.
    webVersionCache: { type: "local", path: join(dataPath, "web-cache") },
  };
}

/**
 * Builds a real whatsapp-web.js client. The library loads on first use, so
 * that a service without WhatsApp never loads it or puppeteer.
 */
export const createWhatsAppClient: WhatsAppClientFactory = async (spec) => {
  // whatsapp-web.js is CommonJS: its classes come from the default export.
  const library = (await import("whatsapp-web.js")).default;
  const client = new library.Client(clientOptionsFor(library, spec));
  const sendImage: WhatsAppClient["sendImage"] = async (chatId, url, caption) => {
    const media = await library.MessageMedia.fromUrl(url, { unsafeMime: true });
    return client.sendMessage(chatId, media, { caption });
  };
  return Object.assign(client, { sendImage }) as unknown as WhatsAppClient;
};
