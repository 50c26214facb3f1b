import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { LinkState, LinkStatus } from "../whatsapp.js";
import { qrSvg } from "./qr.js";

export const operatorPagePath = "/whatsapp/qr";

export interface OperatorPageOptions {
  /** The WHATSAPP_OPERATOR_TOKEN setting. */
  token: string;
  status: () => LinkStatus;
}

const headings: Record<LinkState, string> = {
  stopped: "Stopped",
  starting: "Waiting for QR code",
  qr: "Scan the QR code",
  authenticated: "Linked, loading",
  ready: "Linked",
  reconnecting: "Reconnecting",
  logged_out: "Logged out, waiting for a new QR code",
  failed: "Not running",
};

/**
 * Serves the page where an operator links the number: GET /whatsapp/qr?token=…
 * shows the QR code or the link state. A missing or wrong token gets 401.
 */
export function registerOperatorPage(server: FastifyInstance, options: OperatorPageOptions): void {
  server.get<{ Querystring: { token?: unknown } }>(
    operatorPagePath,
    // The URL carries the token, and Fastify's request log would write it at info level.
    { logLevel: "warn" },
    async (request, reply) => {
      reply.header("cache-control", "no-store").header("referrer-policy", "no-referrer").header("x-content-type-options", "nosniff");
      if (!tokenMatches(options.token, request.query.token)) {
        return reply.code(401).send({
          code: "WP_WHATSAPP_UNAUTHORIZED",
          message: "missing or wrong token: open /whatsapp/qr?token=<WHATSAPP_OPERATOR_TOKEN> with the token from the service's settings",
        });
      }
      return reply
        .header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'")
        .type("text/html; charset=utf-8")
        .send(renderOperatorPage(options.status()));
    },
  );
}

/** Compares a received token with the expected one in constant time, whatever their lengths. */
export function tokenMatches(expected: string, received: unknown): boolean {
  if (typeof received !== "string") return false;
  // Equal-length digests let timingSafeEqual compare tokens of any length.
  const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();
  return timingSafeEqual(digest(expected), digest(received));
}

/** Renders the page, which reloads every 5 seconds so that a new QR code or state shows up. */
export function renderOperatorPage(status: LinkStatus): string {
  const qr = status.state === "qr" && status.qr ? `<figure>${qrSvg(status.qr)}</figure>` : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="5">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Waypoints: WhatsApp link</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}figure{margin:1rem 0}</style>
</head>
<body>
<main data-state="${status.state}">
<h1>WhatsApp: ${escapeHtml(headings[status.state])}</h1>
<p id="detail">${escapeHtml(status.detail)}</p>
${qr}
<p><small>State since ${new Date(status.since).toISOString()}.</small></p>
</main>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
