import type { Inbound } from "../../engine/types.js";
import { parseText } from "../telegram.js";

/**
 * The fields of whatsapp-web.js's Message (1.34) that the channel reads. The
 * library's own type is looser in places, so the adapter declares its own.
 */
export interface WhatsAppMessage {
  id: { _serialized: string; fromMe: boolean; remote: string; id: string };
  /** Chat the message came from: `<number>@c.us` or `<id>@lid` for a person, `<id>@g.us` for a group. */
  from: string;
  to: string;
  body: string;
  /** The library's MessageTypes value: "chat" for text, "image", "ptt", "reaction"… */
  type: string;
  fromMe: boolean;
  /** Unix time in seconds. */
  timestamp: number;
  hasMedia: boolean;
  isStatus: boolean;
  broadcast?: boolean;
  /** The sender inside a group chat. */
  author?: string;
}

/** The reason a message gets no reply. */
export type IgnoreReason = "from_me" | "status" | "group" | "not_personal" | "system";

export type InboundDecision =
  | { kind: "accepted"; inbound: Inbound }
  | { kind: "ignored"; reason: IgnoreReason };

/** Addresses of one person's chat: a phone-number id or a WhatsApp LID. */
const personalChat = /^[^@\s]+@(c\.us|lid)$/;

/**
 * Message types that a person did not write: notices, protocol messages,
 * deletions, reactions and call records. They get no reply.
 */
const systemTypes = new Set([
  "e2e_notification",
  "notification",
  "notification_template",
  "group_notification",
  "gp2",
  "protocol",
  "revoked",
  "reaction",
  "call_log",
  "ciphertext",
  "debug",
  "broadcast_notification",
]);

/**
 * Turns a WhatsApp message into the engine's input, or returns the reason it gets no
 * reply. Text becomes a command or plain text as on Telegram. Every other
 * type a person sends (image, video, audio, ptt, sticker, document,
 * location, vcard, poll…) becomes `unsupported`, so that the learner gets the
 * hint to type instead.
 */
export function toInbound(message: WhatsAppMessage): InboundDecision {
  if (message.fromMe || message.id.fromMe) return { kind: "ignored", reason: "from_me" };
  const chats = [message.from, message.to, message.id.remote];
  if (message.isStatus || chats.includes("status@broadcast")) return { kind: "ignored", reason: "status" };
  if (chats.some((chat) => chat?.endsWith("@g.us"))) return { kind: "ignored", reason: "group" };
  if (message.broadcast || !personalChat.test(message.from)) return { kind: "ignored", reason: "not_personal" };
  if (systemTypes.has(message.type)) return { kind: "ignored", reason: "system" };
  if (message.type === "chat") return { kind: "accepted", inbound: parseText(message.body ?? "") };
  return { kind: "accepted", inbound: { type: "unsupported", media: message.type } };
}
