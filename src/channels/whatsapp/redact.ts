import { createHash } from "node:crypto";

/**
 * Returns a stable short reference for a WhatsApp address, for logs: the
 * address itself contains the learner's phone number.
 */
export function chatRef(address: string): string {
  return `wa-${createHash("sha256").update(address).digest("hex").slice(0, 12)}`;
}
