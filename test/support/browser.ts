import { existsSync } from "node:fs";
import { browserArgs } from "../../src/channels/whatsapp/client.js";
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions } from "playwright-core";

/** Path of the Chromium binary that browser tests launch. playwright-core downloads no browser, so it must be installed. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";


/** Launches headless Chromium from CHROMIUM_PATH (default /usr/bin/chromium). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `Chromium not found at ${chromiumPath}: install Debian's chromium package, or set CHROMIUM_PATH to a Chromium binary`,
    );
  }
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: [...browserArgs] });
}

/** A browser context limited to one origin, with the URLs it blocked. */
export interface LocalContext {
  context: BrowserContext;
  /** URLs outside the origin that a page tried to load. The context aborted each request. */
  blocked: string[];
}

/**
 * Opens a browser context whose pages may load only URLs of `origin`, such as
 * `http://127.0.0.1:41234`. It aborts and records every other HTTP request.
 */
export async function openLocalContext(
  browser: Browser,
  origin: string,
  options: BrowserContextOptions = {},
): Promise<LocalContext> {
  const context = await browser.newContext({ serviceWorkers: "block", ...options });
  const blocked: string[] = [];
  await context.route(
    (url) => url.origin !== origin,
    async (route) => {
      blocked.push(route.request().url());
      await route.abort("blockedbyclient");
    },
  );
  return { context, blocked };
}

/** A phone-sized viewport (390 × 844 CSS pixels) with touch input. */
export const phone: BrowserContextOptions = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 3,
  isMobile: true,
  hasTouch: true,
};
