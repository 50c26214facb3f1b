import { createRequire } from "node:module";

/** The QR code class that qrcode-terminal 0.12.0 vendors, as far as it is used here. */
interface QrMatrix {
  addData(data: string): void;
  make(): void;
  getModuleCount(): number;
  isDark(row: number, column: number): boolean;
}

interface QrcodeTerminal {
  generate(input: string, options: { small: boolean }, done: (text: string) => void): void;
}

const require = createRequire(import.meta.url);
const qrcodeTerminal = require("qrcode-terminal") as QrcodeTerminal;
// qrcode-terminal has no API for the matrix, so the SVG uses the QR encoder it ships.
// NOTE: these are internal paths of qrcode-terminal 0.12.0, the version pinned in package.json.
const QRCode = require("qrcode-terminal/vendor/QRCode") as new (typeNumber: number, errorCorrectLevel: number) => QrMatrix;
const errorCorrectLevel = require("qrcode-terminal/vendor/QRCode/QRErrorCorrectLevel") as Record<"L" | "M" | "Q" | "H", number>;

/** Renders a QR code as text for a terminal, two modules per character, as qrcode-terminal's small mode does. */
export function qrForTerminal(data: string): string {
  let output = "";
  qrcodeTerminal.generate(data, { small: true }, (text) => {
    output = text;
  });
  return output;
}

/**
 * Encodes `data` as a QR code matrix with error correction level L, the
 * level that qrcode-terminal uses, so that the page and the terminal show the same code.
 */
export function qrMatrix(data: string): boolean[][] {
  const code = new QRCode(-1, errorCorrectLevel.L);
  code.addData(data);
  code.make();
  const size = code.getModuleCount();
  return Array.from({ length: size }, (_, row) => Array.from({ length: size }, (_, column) => code.isDark(row, column)));
}

/** Renders a QR code as an SVG image: black modules on white, with the standard 4-module quiet zone. */
export function qrSvg(data: string, pixelsPerModule = 6): string {
  const matrix = qrMatrix(data);
  const quiet = 4;
  const size = matrix.length + 2 * quiet;
  const squares: string[] = [];
  for (const [row, cells] of matrix.entries()) {
    for (const [column, dark] of cells.entries()) {
      if (dark) squares.push(`M${column + quiet} ${row + quiet}h1v1h-1z`);
    }
  }
  const pixels = size * pixelsPerModule;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" width="${pixels}" height="${pixels}" shape-rendering="crispEdges" role="img" aria-label="QR code to link WhatsApp">` +
    `<rect width="${size}" height="${size}" fill="#fff"/><path fill="#000" d="${squares.join("")}"/></svg>`
  );
}
