import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page, Request } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createApp, type App } from "../../src/app.js";
import { configSchema } from "../../src/config.js";
import type { Course, Step } from "../../src/content/model.js";
import { toPlainText } from "../../src/render/markdown.js";
import { launchChromium, openLocalContext, phone } from "../support/browser.js";
import { loadValidCourse, moduleOneContent, projectRoot } from "../support/context.js";

const languages = ["en", "fr", "es"] as const;
type Language = (typeof languages)[number];

const screenshotPath = "/tmp/waypoints-chat-en.png";

/** Inputs of each walkthrough: the role it picks, the quiz steps it answers wrong on purpose and the reflection it types. */
const plans: Record<Language, { role: string; wrong: string[]; reflection: string }> = {
  en: { role: "social-worker", wrong: ["m1-q2"], reflection: "I will ask the child first and call the child-protection focal point." },
  fr: { role: "teacher", wrong: [], reflection: "Je parlerai d'abord avec l'enfant, puis j'appellerai le point focal." },
  es: { role: "health-worker", wrong: ["m1-q1", "m1-q3", "m1-q5"], reflection: "Hablaré primero con el niño y llamaré al punto focal." },
};

type Strings = Record<string, unknown>;

/** The page's own words in each language, as src/web/chat.html embeds them. */
const pageWords: Record<Language, {
  send: string;
  newChat: string;
  newChatTitle: string;
  placeholder: string;
  messageLabel: string;
  notSent: string;
  confirmNewChat: string;
}> = {
  en: {
    send: "Send",
    newChat: "New chat",
    newChatTitle: "Start a new chat session",
    placeholder: "Message or /help",
    messageLabel: "Message",
    notSent: "Not sent: {error}. Check the connection and try again.",
    confirmNewChat: "Start a new chat from the beginning? This browser will no longer show the current one.",
  },
  fr: {
    send: "Envoyer",
    newChat: "Nouvelle conversation",
    newChatTitle: "Commencer une nouvelle conversation",
    placeholder: "Message ou /help",
    messageLabel: "Message",
    notSent: "Non envoyé\u00a0: {error}. Vérifiez la connexion et réessayez.",
    confirmNewChat: "Recommencer une conversation depuis le début\u00a0? Ce navigateur n’affichera plus la conversation actuelle.",
  },
  es: {
    send: "Enviar",
    newChat: "Nueva conversación",
    newChatTitle: "Empezar una nueva conversación",
    placeholder: "Mensaje o /help",
    messageLabel: "Mensaje",
    notSent: "No enviado: {error}. Compruebe la conexión e inténtelo de nuevo.",
    confirmNewChat: "¿Empezar una nueva conversación desde el principio? Este navegador dejará de mostrar la actual.",
  },
};

const localeFiles = Object.fromEntries(
  languages.map((language) => [
    language,
    JSON.parse(readFileSync(join(projectRoot, "locales", language, "translation.json"), "utf8")) as Strings,
  ]),
) as Record<Language, Strings>;

/**
 * Returns a string of locales/<language>/translation.json with its
 * `{{name}}` values filled in and the Markdown markers removed, as the
 * browser shows it.
 */
function localeText(language: Language, key: string, values: Record<string, string | number> = {}): string {
  let node: unknown = localeFiles[language];
  for (const part of key.split(".")) node = (node as Strings | undefined)?.[part];
  if (typeof node !== "string") throw new Error(`missing string "${key}" in locales/${language}/translation.json`);
  const filled = node.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`missing value for {{${name}}} in "${key}" (${language})`);
    return String(value);
  });
  return toPlainText(filled);
}

/** One element of the chat log, as the page renders it. */
interface Bubble {
  kind: "bot" | "me" | "notice";
  /** The id that the server assigned to a bot message, or null for the page's own lines. */
  id: string | null;
  /** The rendered text without the buttons, with line breaks as `\n`. */
  text: string;
  buttons: string[];
}

/** Drives the browser chat of one browser context through its visible UI. */
class Chat {
  readonly requests: Request[] = [];
  /** The language of the page's own words, which the helpers use to find the text box and the Send button. */
  language: Language = "en";

  constructor(readonly page: Page) {
    page.on("request", (request) => this.requests.push(request));
  }

  get botBubbles() {
    return this.page.locator("#log > .bubble.bot");
  }

  get notices() {
    return this.page.locator("#log > .bubble.notice");
  }

  /** The latest bot message that has buttons: the prompt the learner answers now. */
  get prompt() {
    return this.page.locator("#log > .bubble.bot:has(.choices)").last();
  }

  get textbox() {
    return this.page.getByRole("textbox", { name: pageWords[this.language].messageLabel });
  }

  async open(url: string): Promise<Bubble> {
    await this.page.goto(url);
    const [welcome] = await this.newBotMessages(0);
    return welcome!;
  }

  /** Reads every element of the log, in order. */
  async log(): Promise<Bubble[]> {
    return this.page.locator("#log").evaluate((log) =>
      Array.from(log.children, (element) => {
        const bubble = element as HTMLElement;
        const kind = bubble.classList.contains("bot") ? "bot" : bubble.classList.contains("me") ? "me" : "notice";
        let text = "";
        for (const node of Array.from(bubble.childNodes)) {
          if (node.nodeName === "BR") {
            text += "\n";
          } else if (node instanceof HTMLElement) {
            if (!node.classList.contains("choices")) text += node.innerText;
          } else {
            text += node.textContent ?? "";
          }
        }
        const buttons = Array.from(bubble.querySelectorAll(".choices button"), (button) => button.textContent ?? "");
        return { kind, id: bubble.dataset.id ?? null, text, buttons } as const;
      }),
    );
  }

  async botMessages(): Promise<Bubble[]> {
    return (await this.log()).filter((bubble) => bubble.kind === "bot");
  }

  /**
   * Waits until the log has more than `before` bot messages and returns the
   * new ones. The page appends all the messages of one server reply in a
   * single task, so the first new bubble means the whole reply is there.
   */
  async newBotMessages(before: number): Promise<Bubble[]> {
    await this.botBubbles.nth(before).waitFor();
    return (await this.botMessages()).slice(before);
  }

  /** Taps a button of the current prompt and returns the bot messages sent in reply. */
  async tap(label: string): Promise<Bubble[]> {
    const before = await this.botBubbles.count();
    await this.prompt.getByRole("button", { name: label, exact: true }).tap();
    return this.newBotMessages(before);
  }

  /** Types a message in the text box, sends it with the Send button and returns the bot messages sent in reply. */
  async send(text: string): Promise<Bubble[]> {
    const before = await this.botBubbles.count();
    await this.textbox.fill(text);
    await this.page.getByRole("button", { name: pageWords[this.language].send, exact: true }).tap();
    return this.newBotMessages(before);
  }

  /** Reads the page's own words: the lang attribute, the Send and New chat buttons and the text box. */
  async pageWords(): Promise<{ lang: string; send: string; newChat: string; newChatTitle: string; placeholder: string; messageLabel: string }> {
    return this.page.evaluate(() => {
      const restart = document.getElementById("restart")!;
      const input = document.getElementById("text") as HTMLTextAreaElement;
      return {
        lang: document.documentElement.lang,
        send: document.querySelector("#composer button[type=submit]")!.textContent ?? "",
        newChat: restart.textContent ?? "",
        newChatTitle: restart.title,
        placeholder: input.placeholder,
        messageLabel: input.getAttribute("aria-label") ?? "",
      };
    });
  }

  /** Lists elements wider than the chat log, which would scroll sideways on the phone. */
  async horizontalOverflow(): Promise<string[]> {
    return this.page.evaluate(() => {
      const log = document.getElementById("log")!;
      const wide: string[] = [];
      if (document.documentElement.scrollWidth > window.innerWidth) wide.push(`page ${document.documentElement.scrollWidth}px`);
      if (log.scrollWidth > log.clientWidth) wide.push(`#log ${log.scrollWidth}px`);
      for (const button of Array.from(log.querySelectorAll("button"))) {
        if (button.scrollWidth > button.clientWidth) wide.push(`button "${button.textContent}" ${button.scrollWidth}px`);
      }
      return wide;
    });
  }
}

let app: App;
let browser: Browser;
let origin: string;
let course: Course;
const temporaryDirs: string[] = [];
const openContexts: { context: BrowserContext; blocked: string[] }[] = [];

beforeAll(async () => {
  const contentDir = moduleOneContent();
  const dataDir = mkdtempSync(join(tmpdir(), "waypoints-web-"));
  temporaryDirs.push(contentDir, dataDir);
  course = loadValidCourse(contentDir);
  const config = configSchema.parse({
    HOST: "127.0.0.1",
    PORT: 0,
    DATABASE_FILE: join(dataDir, "waypoints.sqlite"),
    CONTENT_DIR: contentDir,
    LOCALES_DIR: join(projectRoot, "locales"),
    LOG_LEVEL: "silent",
  });
  app = await createApp(config);
  origin = await app.listen();
  expect(origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  browser = await launchChromium();
});

afterEach(async () => {
  for (const { context, blocked } of openContexts.splice(0)) {
    await context.close();
    expect(blocked, "requests outside the local server").toEqual([]);
  }
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Opens a new phone-sized browser context, so that its localStorage stores a
 * session of its own. The browser's language is `locale`, en-US unless given.
 */
async function newChat(locale = "en-US"): Promise<Chat> {
  const local = await openLocalContext(browser, origin, { ...phone, locale });
  openContexts.push(local);
  const page = await local.context.newPage();
  // Replies take milliseconds, so a missing one fails here with the locator it waited for, well before the test timeout.
  page.setDefaultTimeout(5_000);
  return new Chat(page);
}

function moduleOneSteps(language: Language): Step[] {
  const steps = course.steps[language]!;
  return course.modules[0]!.stepIds.map((stepId) => steps.get(stepId)!);
}

/** Returns the bold first line of a step, such as "Lesson · Who are children on the move?" or "Question · Module 1". */
function heading(language: Language, step: Step): string {
  const kind = localeText(language, `kinds.${step.kind}`);
  return `${kind} · ${step.title || localeText(language, "module.short", { number: 1 })}`;
}

/**
 * Opens the page and goes through welcome, language, consent, role and
 * schedule, up to the first lesson. The learner takes the course at their own
 * pace, which needs no hour, and picks UTC, so that no lesson is held back.
 */
async function startCourse(chat: Chat, language: Language, role: string): Promise<Bubble[]> {
  const welcome = await chat.open(`${origin}/`);
  expect(welcome.text.split("\n")[0]).toBe(localeText("en", "onboarding.welcome"));
  expect(welcome.buttons).toEqual(["English", "Français", "Español"]);

  const [consent] = await chat.tap(localeText(language, "languageName"));
  chat.language = language;
  expect(consent?.text).toBe(localeText(language, "onboarding.consent"));
  expect(consent?.buttons).toEqual([localeText(language, "onboarding.agree"), localeText(language, "onboarding.decline")]);

  const [rolePrompt] = await chat.tap(localeText(language, "onboarding.agree"));
  expect(rolePrompt?.text).toBe(localeText(language, "onboarding.role"));
  expect(rolePrompt?.buttons).toHaveLength(12);
  expect(await chat.horizontalOverflow()).toEqual([]);

  const [pacePrompt] = await chat.tap(localeText(language, `roles.${role}`));
  expect(pacePrompt?.text).toBe(localeText(language, "schedule.askPace"));
  const [regionPrompt] = await chat.tap(localeText(language, "schedule.paces.self"));
  expect(regionPrompt?.text).toBe(localeText(language, "schedule.askRegion"));
  expect(regionPrompt?.buttons.at(-1)).toBe("UTC");
  return chat.tap("UTC");
}

async function readLesson(chat: Chat, language: Language, step: Step, first: Bubble): Promise<Bubble[]> {
  if (step.kind !== "lesson" && step.kind !== "scenario") throw new Error(`${step.id} is not read in parts`);
  const next = localeText(language, "buttons.next");
  let shown = first;
  let replies: Bubble[] = [];
  for (const [part, body] of step.messages.entries()) {
    if (part === 0) expect(shown.text.split("\n")[0]).toBe(heading(language, step));
    expect(shown.text).toContain(toPlainText(body));
    expect(shown.text.split("\n").at(-1)).toBe(`${part + 1}/${step.messages.length}`);
    expect(shown.buttons).toEqual([next]);
    replies = await chat.tap(next);
    shown = replies[0]!;
  }
  return replies;
}

describe.each(languages)("browser chat in %s", (language) => {
  const plan = plans[language];

  it("walks module 1 to the course end", async () => {
    const chat = await newChat();
    const steps = moduleOneSteps(language);
    const moduleTitle = course.modules[0]!.text[language]!.title;
    const next = localeText(language, "buttons.next");

    const started = await startCourse(chat, language, plan.role);
    expect(started.map((bubble) => bubble.text.split("\n")[0])).toEqual([
      localeText(language, "onboarding.ready", { title: course.title[language]! }),
      localeText(language, "module.intro", { number: 1, title: moduleTitle, summary: "", minutes: 45 }).split("\n")[0],
      heading(language, steps[0]!),
    ]);
    expect(started[1]?.text).toContain(toPlainText(course.modules[0]!.text[language]!.summary));

    let shown = started.at(-1)!;
    let correctAnswers = 0;
    for (const step of steps) {
      switch (step.kind) {
        case "lesson": {
          shown = (await readLesson(chat, language, step, shown)).at(-1)!;
          break;
        }
        case "quiz": {
          expect(shown.text).toBe(`${heading(language, step)}\n\n${toPlainText(step.question)}`);
          expect(shown.buttons).toEqual(step.options.map((option) => option.label));
          const right = step.options.find((option) => option.correct)!;
          const chosen = plan.wrong.includes(step.id) ? step.options.find((option) => !option.correct)! : right;
          const [feedback] = await chat.tap(chosen.label);
          const verdict = chosen.correct
            ? localeText(language, "quiz.right")
            : localeText(language, "quiz.wrong", { answer: right.label });
          expect(feedback?.text.split("\n")[0]).toBe(verdict);
          expect(feedback?.text).toMatch(chosen.correct ? /^✅/ : /^❌/);
          expect(feedback?.text).toContain(toPlainText(chosen.feedback));
          expect(feedback?.text).toContain(localeText(language, "quiz.why", { explanation: step.explanation }));
          expect(feedback?.buttons).toEqual([next]);
          if (chosen.correct) correctAnswers++;
          shown = (await chat.tap(next))[0]!;
          break;
        }
        case "scenario": {
          if (step.contentNote) {
            expect(shown.text).toBe(localeText(language, "scenario.contentNote", { note: step.contentNote }));
            expect(shown.buttons).toEqual([localeText(language, "buttons.continue"), localeText(language, "buttons.skipEpisode")]);
            shown = (await chat.tap(localeText(language, "buttons.continue")))[0]!;
          }
          const [decision] = await readLesson(chat, language, step, shown);
          expect(decision?.text).toBe(toPlainText(step.decision));
          expect(decision?.buttons).toEqual(step.options.map((option) => option.label));
          const best = step.options.find((option) => option.best)!;
          const [feedback] = await chat.tap(best.label);
          expect(feedback?.text).toBe(`${localeText(language, "scenario.yourChoice", { label: best.label })}\n\n${toPlainText(best.feedback)}`);
          expect(feedback?.buttons).toEqual([next]);
          shown = (await chat.tap(next))[0]!;
          break;
        }
        case "reflection": {
          expect(shown.text).toBe(`${heading(language, step)}\n\n${toPlainText(step.prompt)}\n\n${localeText(language, "reflection.privacy")}`);
          expect(shown.buttons).toEqual([localeText(language, "buttons.skip")]);
          const replies = await chat.send(plan.reflection);
          expect(await chat.textbox.inputValue()).toBe("");
          const mine = (await chat.log()).filter((bubble) => bubble.kind === "me").at(-1);
          expect(mine?.text).toBe(plan.reflection);
          expect(replies[0]?.text).toBe(localeText(language, "reflection.saved"));
          shown = replies.at(-1)!;
          break;
        }
      }
    }

    const quizCount = steps.filter((step) => step.kind === "quiz").length;
    const percent = Math.round((100 * correctAnswers) / quizCount);
    expect(shown.text.split("\n\n")).toEqual([
      localeText(language, "module.finished", { number: 1, title: moduleTitle }),
      localeText(language, "module.score_other", { correct: correctAnswers, count: quizCount, percent }),
      localeText(language, percent >= course.passMark ? "module.passed" : "module.notPassed", { passMark: course.passMark, number: 1 }),
    ]);
    const finishCourse = localeText(language, "buttons.finishCourse");
    expect(shown.buttons).toEqual([finishCourse]);
    expect(await chat.horizontalOverflow()).toEqual([]);
    if (language === "en") await chat.page.screenshot({ path: screenshotPath });

    const [finished] = await chat.tap(finishCourse);
    expect(finished?.text.split("\n\n")[0]).toBe(localeText(language, "course.finished", { title: course.title[language]! }));
    expect(finished?.buttons).toEqual([]);
  });

  it("old Next button shows the stale notice", async () => {
    const chat = await newChat();
    const lesson = moduleOneSteps(language)[0]!;
    if (lesson.kind !== "lesson") throw new Error(`${lesson.id} should be a lesson`);
    const next = localeText(language, "buttons.next");
    await startCourse(chat, language, plan.role);
    await chat.tap(next);
    const before = await chat.log();
    const bots = before.filter((bubble) => bubble.kind === "bot");
    expect(bots.at(-1)?.text).toContain(toPlainText(lesson.messages[1]!));

    // The Next button of part 1, one message above the current one.
    await chat.botBubbles.nth(bots.length - 2).getByRole("button", { name: next, exact: true }).tap();
    await chat.notices.first().waitFor();
    const after = await chat.log();
    expect(after.slice(0, before.length)).toEqual(before);
    // NOTE: the page echoes every tap as the learner's own bubble before the
    // server replies, so a stale tap also leaves a "Next ▶" bubble behind.
    expect(after.slice(before.length)).toEqual([
      { kind: "me", id: null, text: next, buttons: [] },
      { kind: "notice", id: null, text: localeText(language, "input.stale"), buttons: [] },
    ]);

    const [part3] = await chat.tap(next);
    expect(part3?.text).toContain(toPlainText(lesson.messages[2]!));
    expect(part3?.text.split("\n").at(-1)).toBe(`3/${lesson.messages.length}`);
  });

  it("/progress shows a progress bar", async () => {
    const chat = await newChat();
    const [lesson, quiz] = moduleOneSteps(language);
    if (lesson?.kind !== "lesson" || quiz?.kind !== "quiz") throw new Error("module 1 should open with a lesson and a quiz");
    const next = localeText(language, "buttons.next");
    await startCourse(chat, language, plan.role);
    for (let part = 0; part < lesson.messages.length; part++) await chat.tap(next);
    await chat.tap(quiz.options.find((option) => option.correct)!.label);

    const [progress] = await chat.send("/progress");
    // After the first quiz, 1 of the module's 12 steps is done: 8%, one cell of ten filled.
    expect(progress?.text.split("\n").map((line) => line.trim())).toEqual([
      localeText(language, "progress.title"),
      `1. ${course.modules[0]!.text[language]!.title}`,
      "▓░░░░░░░░░ 8%",
      localeText(language, "progress.quiz", { correct: 1, count: 1, questions: 5 }).trim(),
    ]);
    expect(progress?.buttons).toEqual([]);

    // The quiz feedback is still the current prompt, so its Next goes on to the second lesson.
    const [lesson2] = await chat.tap(next);
    expect(lesson2?.text.split("\n")[0]).toBe(heading(language, moduleOneSteps(language)[2]!));
  });
});

describe.each(languages)("browser chat page words in %s", (language) => {
  const words = pageWords[language];
  const expectedWords = {
    lang: language,
    send: words.send,
    newChat: words.newChat,
    newChatTitle: words.newChatTitle,
    placeholder: words.placeholder,
    messageLabel: words.messageLabel,
  };
  /** A regional browser locale of the language, which the page reduces to the language. */
  const browserLocale = { en: "en-GB", fr: "fr-FR", es: "es-MX" }[language];

  it("follow the learner's chosen language", async () => {
    const chat = await newChat("en-US");
    await startCourse(chat, language, plans[language].role);
    expect(await chat.pageWords()).toEqual(expectedWords);

    let dialog = "";
    chat.page.once("dialog", (shownDialog) => {
      dialog = shownDialog.message();
      void shownDialog.dismiss();
    });
    await chat.page.locator("#restart").tap();
    await expect.poll(() => dialog).toBe(words.confirmNewChat);

    await chat.page.route("**/api/chat/*/send", (route) => route.abort("failed"));
    await chat.textbox.fill("/help");
    await chat.page.getByRole("button", { name: words.send, exact: true }).tap();
    await chat.notices.first().waitFor();
    const [before, after] = words.notSent.split("{error}") as [string, string];
    const notice = await chat.notices.first().innerText();
    expect(notice.startsWith(before), notice).toBe(true);
    expect(notice.endsWith(after), notice).toBe(true);
  });

  it("follow the browser's language before a choice", async () => {
    const chat = await newChat(browserLocale);
    await chat.open(`${origin}/`);
    expect(await chat.pageWords()).toEqual(expectedWords);
  });

  it("stay in the chosen language after a reload", async () => {
    const other = language === "en" ? "es-ES" : "en-US";
    const chat = await newChat(other);
    await startCourse(chat, language, plans[language].role);
    await chat.page.reload();
    await chat.botBubbles.first().waitFor();
    await chat.page.waitForFunction((expected) => document.documentElement.lang === expected, language);
    expect(await chat.pageWords()).toEqual(expectedWords);
  });
});

describe("browser chat page words", () => {
  it("fall back to English for another browser language", async () => {
    const chat = await newChat("de-DE");
    await chat.open(`${origin}/`);
    expect(await chat.pageWords()).toMatchObject({ lang: "en", send: "Send" });
  });
});

describe("browser chat reload", () => {
  it("keeps the conversation without duplicates", async () => {
    const chat = await newChat();
    const lesson = moduleOneSteps("en")[0]!;
    if (lesson.kind !== "lesson") throw new Error(`${lesson.id} should be a lesson`);
    await startCourse(chat, "en", "volunteer");
    await chat.tap("Next ▶");
    await chat.tap("Next ▶");
    const session = await chat.page.evaluate(() => localStorage.getItem("waypoints.session"));
    const history = await chat.botMessages();
    const lastId = Math.max(...history.map((bubble) => Number(bubble.id)));
    expect(history.at(-1)?.text.split("\n").at(-1)).toBe(`3/${lesson.messages.length}`);

    const requestsBefore = chat.requests.length;
    await chat.page.reload();
    const reloaded = await chat.newBotMessages(history.length - 1);
    expect(await chat.page.evaluate(() => localStorage.getItem("waypoints.session"))).toBe(session);
    const shown = await chat.botMessages();
    expect(shown).toEqual(history);
    expect(new Set(shown.map((bubble) => bubble.id)).size).toBe(shown.length);
    expect(reloaded).toEqual([history.at(-1)]);

    // NOTE: the server stores only the bot's messages, so after a reload the
    // learner's own bubbles (their taps and typed text) are gone.
    expect((await chat.log()).filter((bubble) => bubble.kind !== "bot")).toEqual([]);

    const [part4] = await chat.tap("Next ▶");
    expect(part4?.text.split("\n").at(-1)).toBe(`4/${lesson.messages.length}`);
    expect(Number(part4?.id)).toBeGreaterThan(lastId);

    // The reloaded page fetched the history once, sent no /start, and asked
    // for replies after the last message it showed.
    const api = chat.requests.slice(requestsBefore).filter((request) => new URL(request.url()).pathname.startsWith("/api/chat/"));
    expect(api[0]?.method()).toBe("GET");
    expect(new URL(api[0]!.url()).pathname).toBe(`/api/chat/${session}/messages`);
    expect(new URL(api[0]!.url()).searchParams.get("after")).toBe("0");
    const sends = api.filter((request) => request.method() === "POST");
    expect(sends).toHaveLength(1);
    expect(sends[0]?.postDataJSON()).toMatchObject({ after: lastId });
    const all = await chat.botMessages();
    expect(all).toHaveLength(history.length + 1);
    expect(new Set(all.map((bubble) => bubble.id)).size).toBe(all.length);
  });
});
