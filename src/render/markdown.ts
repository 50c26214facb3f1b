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
  const { text, restore } = protectEscapes(escapeHtml(markdown));
  return restore(
    text
      .replace(link, (_, label: string, url: string) => `<a href="${url}">${label}</a>`)
      .replace(bold, "<b>$1</b>")
      .replace(italic, "$1<i>$2</i>"),
  );
}

/** Swaps backslash-escaped markers for placeholders while the Markdown patterns run. */
function protectEscapes(text: string): { text: string; restore: (rendered: string) => string } {
  const kept: string[] = [];
  const protectedText = text.replace(/\\([*_[\]()\\])/g, (_, marker: string) => `\u0000${kept.push(marker) - 1}\u0000`);
  return {
    text: protectedText,
    restore: (rendered) => rendered.replace(/\u0000(\d+)\u0000/g, (_, index: string) => kept[Number(index)] ?? ""),
  };
}

/** Renders to WhatsApp's own markers: *bold*, _italic_, and links as "text (url)". */
export function toWhatsApp(markdown: string): string {
  const { text, restore } = protectEscapes(markdown);
  return restore(text.replace(link, (_, label: string, url: string) => `${label} (${url})`).replace(bold, "*$1*"));
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

/** Escapes the Markdown markers in text a learner typed, so that it is shown as typed. */
export function escapeMarkdown(text: string): string {
  return text.replace(/([*_[\]()\\])/g, "\\$1");
}

const imageLine = /^!\[([^\]]*)\]\((https:\/\/[^)\s]+)\)[ \t]*$/m;

/**
 * Takes the first image line, `![what it shows](https://…)`, out of a
 * message, so that channels can send the image with the rest as caption.
 */
export function extractImage(markdown: string): { text: string; image: { url: string; alt: string } | null } {
  const match = imageLine.exec(markdown);
  if (!match) return { text: markdown, image: null };
  const text = (markdown.slice(0, match.index) + markdown.slice(match.index + match[0].length)).replace(/\n{3,}/g, "\n\n").trim();
  return { text, image: { alt: (match[1] ?? "").trim(), url: match[2] ?? "" } };
}

/** Renders an image as a line of text, for channels or sends where the image cannot go. */
export function imageFallback(image: { url: string; alt: string }): string {
  return `🖼 ${image.alt}: ${image.url}`;
}
