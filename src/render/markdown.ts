/**
 * Renders the course's Markdown subset (`**bold**`, `_italic_`,
 * `[text](https://…)`) for each channel.
 */

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const link = /\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)/g;
const bold = /\*\*([^*\n]+)\*\*/g;
const italic = /(^|[\s(])_([^_\n]+)_(?=$|[\s.,;:!?)])/gm;

/** Renders to the HTML that Telegram's parse mode and the browser chat both accept. */
export function toHtml(markdown: string): string {
  return escapeHtml(markdown)
    .replace(link, (_, text: string, url: string) => `<a href="${url}">${text}</a>`)
    .replace(bold, "<b>$1</b>")
    .replace(italic, "$1<i>$2</i>");
}

/** Renders to WhatsApp's own markers: *bold*, _italic_, and links as "text (url)". */
export function toWhatsApp(markdown: string): string {
  return markdown
    .replace(link, (_, text: string, url: string) => `${text} (${url})`)
    .replace(bold, "*$1*");
}

/** Removes the markers, for logs and plain-text channels. */
export function toPlainText(markdown: string): string {
  return markdown
    .replace(link, (_, text: string, url: string) => `${text} (${url})`)
    .replace(bold, "$1")
    .replace(italic, "$1$2");
}

/**
 * Splits a text into chunks that each render within `maxLength`, cutting at
 * paragraph breaks, then at line breaks, then at spaces.
 */
export function splitForLimit(text: string, maxLength: number, render: (part: string) => string = (part) => part): string[] {
  if (render(text).length <= maxLength) return [text];
  for (const separator of ["\n\n", "\n", " "]) {
    const pieces = text.split(separator);
    if (pieces.length < 2) continue;
    const chunks: string[] = [];
    let current = "";
    for (const piece of pieces) {
      const candidate = current ? `${current}${separator}${piece}` : piece;
      if (render(candidate).length <= maxLength || !current) {
        current = candidate;
      } else {
        chunks.push(current);
        current = piece;
      }
    }
    if (current) chunks.push(current);
    if (chunks.every((chunk) => render(chunk).length <= maxLength)) return chunks;
    return chunks.flatMap((chunk) => splitForLimit(chunk, maxLength, render));
  }
  const chunks: string[] = [];
  for (let index = 0; index < text.length; index += maxLength) chunks.push(text.slice(index, index + maxLength));
  return chunks;
}
