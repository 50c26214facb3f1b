import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { TelegramChannel } from "../../src/channels/telegram.js";
import { loadCourse } from "../../src/content/load.js";
import { formatProblem } from "../../src/content/yaml-source.js";
import { loadLocales } from "../../src/i18n.js";
import { extractImage } from "../../src/render/markdown.js";
import { EngineLearner } from "../support/learner.js";
import { loadValidCourse, moduleOneContent, projectRoot, strictContext } from "../support/context.js";
import { startBotApiStandIn, type BotApiStandIn } from "../support/bot-api-stand-in.js";

const imageLine = "![The Haddad family at the bus station](https://example.org/haddad.png)";
const token = "123456789:AAE-images-stand-in-token_01";
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** Module 1 with an image line at the top of the first lesson's first message, in every language. */
function contentWithImage(line = imageLine): string {
  const dir = moduleOneContent();
  for (const language of ["en", "fr", "es"]) {
    const file = join(dir, language, "m1", "01-l1-who.md");
    const text = readFileSync(file, "utf8");
    const end = text.indexOf("\n---\n", 4) + 5;
    writeFileSync(file, `${text.slice(0, end)}${line}\n\n${text.slice(end)}`);
  }
  return dir;
}

async function telegram(): Promise<{ standIn: BotApiStandIn; channel: TelegramChannel }> {
  const standIn = await startBotApiStandIn({ token });
  stops.push(() => standIn.close());
  standIn.openChat(801);
  const channel = new TelegramChannel({
    token,
    apiRoot: standIn.apiRoot,
    logger: pino({ level: "silent" }),
    locales: loadLocales(join(projectRoot, "locales")),
    onInbound: async () => undefined,
  });
  return { standIn, channel };
}

describe("images", () => {
  it("takes the image line out of the message text", () => {
    expect(extractImage(`${imageLine}\n\nFirst lines.`)).toEqual({
      text: "First lines.",
      image: { url: "https://example.org/haddad.png", alt: "The Haddad family at the bus station" },
    });
    expect(extractImage("No image here.")).toEqual({ text: "No image here.", image: null });
  });

  it("the engine sends a lesson message with its image", () => {
    const context = strictContext(loadValidCourse(contentWithImage()));
    const learner = new EngineLearner(context);
    learner.joinAs("es", "teacher");
    learner.press("pace.self");
    const messages = learner.press("zone.Etc/UTC");
    const lesson = messages.at(-1);
    expect(lesson?.image).toEqual({ url: "https://example.org/haddad.png", alt: "The Haddad family at the bus station" });
    expect(lesson?.text).not.toContain("![");
  });

  it("the checker asks for a description", () => {
    const dir = contentWithImage("![](https://example.org/haddad.png)");
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const problems = loadCourse(dir).problems.map(formatProblem);
      expect(problems).toContain("en/m1/01-l1-who.md:6: the image in message 1 has no description: write ![what it shows](https://example.org/haddad.png)");
    } finally {
      process.chdir(cwd);
    }
  });

  it("Telegram sends the photo with the text as caption and the buttons", async () => {
    const { standIn, channel } = await telegram();
    const image = { url: "https://example.org/haddad.png", alt: "The Haddad family" };
    await channel.send("801", { text: "**Episode 1**", image, choices: [[{ data: "3:next", label: "Next ▶" }]] });
    const [photo] = standIn.messages(801);
    expect(photo?.kind).toBe("photo");
    expect(photo?.caption).toBe("Episode 1");
    expect(photo?.reply_markup).toEqual({ inline_keyboard: [[{ text: "Next ▶", callback_data: "3:next" }]] });
  });

  it("Telegram sends a long text after the photo", async () => {
    const { standIn, channel } = await telegram();
    const image = { url: "https://example.org/haddad.png", alt: "The Haddad family" };
    await channel.send("801", { text: "word ".repeat(300).trim(), image });
    expect(standIn.messages(801).map((message) => message.kind)).toEqual(["photo", "text"]);
    expect(standIn.messages(801)[0]?.caption).toBe("The Haddad family");
  });

  it("Telegram falls back to the link when the photo is rejected", async () => {
    const { standIn, channel } = await telegram();
    standIn.failNext("sendPhoto", 1, { status: 400, description: "Bad Request: wrong file identifier/HTTP URL specified" });
    const image = { url: "https://example.org/missing.png", alt: "A map of the route" };
    await channel.send("801", { text: "Read on.", image });
    expect(standIn.messages(801).map((message) => message.text)).toEqual(["🖼 A map of the route: https://example.org/missing.png\n\nRead on."]);
  });
});
