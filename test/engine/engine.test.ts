import { beforeAll, describe, expect, it } from "vitest";
import type { Course } from "../../src/content/model.js";
import { encodeCallback } from "../../src/engine/callback.js";
import { matchTypedChoice } from "../../src/engine/engine.js";
import type { EngineContext } from "../../src/engine/types.js";
import { EngineLearner } from "../support/learner.js";
import { loadValidCourse, moduleOneContent, strictContext } from "../support/context.js";

let course: Course;
let context: EngineContext;

beforeAll(() => {
  course = loadValidCourse(moduleOneContent());
  context = strictContext(course);
});

/** Takes a new learner through onboarding in a language, up to the first lesson. */
function onboard(language: string): EngineLearner {
  const learner = new EngineLearner(context);
  learner.joinAs(language, "social-worker");
  learner.press("pace.self");
  learner.press("zone.Etc/UTC");
  return learner;
}

describe("onboarding", () => {
  it("offers the three languages first", () => {
    const learner = new EngineLearner(context);
    const [welcome] = learner.command("start");
    expect(welcome?.choices?.[0]?.map((choice) => choice.label)).toEqual(["English", "Français", "Español"]);
    expect(learner.eventsOf("enrollment_started")).toHaveLength(1);
  });

  it("asks consent, then the role, then starts module 1", () => {
    const learner = new EngineLearner(context);
    learner.command("start");
    const [consent] = learner.press("lang.fr");
    expect(consent?.text).toContain("vos données");
    const [role] = learner.press("consent.yes");
    expect(role?.choices?.flat()).toHaveLength(12);
    learner.press("role.lawyer");
    learner.press("pace.self");
    learner.press("region.europe");
    const messages = learner.press("zone.Europe/Paris");
    expect(messages.map((message) => message.text.split("\n")[0])).toEqual([
      "Merci. Voici **Prendre soin des enfants en déplacement**. Touchez **Suivant** pour avancer ; envoyez /help à tout moment.",
      expect.stringMatching(/^📘 \*\*Module 1 : /),
      expect.stringMatching(/^\*\*Leçon · /),
    ]);
    expect(learner.state).toMatchObject({ stage: "course", language: "fr", role: "lawyer", position: 0, phase: "reading", pace: "self", timeZone: "Europe/Paris" });
  });

  it("declining consent stores nothing more and /start begins again", () => {
    const learner = new EngineLearner(context);
    learner.command("start");
    learner.press("lang.en");
    const [left] = learner.press("consent.no");
    expect(left?.text).toBe("Understood. We store nothing more about you. If you change your mind, send /start.");
    expect(learner.state?.stage).toBe("left");
    const [again] = learner.command("start");
    expect(again?.choices?.[0]).toHaveLength(3);
    expect(learner.state?.stage).toBe("language");
  });

  it("accepts a typed number for a button", () => {
    const learner = new EngineLearner(context);
    learner.command("start");
    learner.text("3");
    expect(learner.state?.language).toBe("es");
  });
});

describe("module 1", () => {
  for (const language of ["en", "fr", "es"]) {
    it(`runs to the module summary in ${language}`, () => {
      const learner = onboard(language);
      let guard = 0;
      while (learner.state?.stage === "course" && learner.state.phase !== "module_end" && guard++ < 200) {
        const phase = learner.state.phase;
        if (phase === "question") {
          const options = learner.lastChoices();
          learner.send({ type: "choice", data: options[0]!.data });
        } else if (phase === "reflection") {
          learner.text("I would explain the options to the child in plain words.");
        } else {
          learner.press("next");
        }
      }
      expect(learner.state?.phase).toBe("module_end");
      const started = learner.eventsOf("step_started").map((event) => event.stepId);
      expect(started).toEqual(course.modules[0]!.stepIds);
      expect(learner.eventsOf("answer_graded")).toHaveLength(5);
      expect(learner.eventsOf("decision_made")).toHaveLength(1);
      expect(learner.eventsOf("reflection_saved")).toHaveLength(1);
      const [completed] = learner.eventsOf("module_completed");
      expect(completed?.moduleId).toBe("m1");
      expect(completed?.questions).toBe(5);
      const summary = learner.transcript.at(-1)?.text ?? "";
      expect(summary).toContain(`${completed?.correct}`);
      learner.press("next");
      expect(learner.state?.stage).toBe("finished");
      expect(learner.eventsOf("course_completed")).toHaveLength(1);
    });
  }
});

describe("quiz", () => {
  function atFirstQuestion(): EngineLearner {
    const learner = onboard("en");
    while (learner.state?.phase !== "question") learner.press("next");
    return learner;
  }

  it("grades the right option and explains it", () => {
    const learner = atFirstQuestion();
    const step = course.steps.en!.get("m1-q1");
    if (step?.kind !== "quiz") throw new Error("m1-q1 is not a quiz");
    const right = step.options.find((option) => option.correct)!;
    const [feedback] = learner.press(`o.${right.id}`);
    expect(feedback?.text.split("\n")[0]).toBe("✅");
    expect(feedback?.text).toContain(right.feedback);
    expect(feedback?.text).toContain(step.explanation);
    expect(learner.eventsOf("answer_graded")).toEqual([{ type: "answer_graded", stepId: "m1-q1", optionId: right.id, correct: true }]);
  });

  it("names the right answer after a wrong one", () => {
    const learner = atFirstQuestion();
    const step = course.steps.en!.get("m1-q1");
    if (step?.kind !== "quiz") throw new Error("m1-q1 is not a quiz");
    const wrong = step.options.find((option) => !option.correct)!;
    const right = step.options.find((option) => option.correct)!;
    const [feedback] = learner.press(`o.${wrong.id}`);
    expect(feedback?.text.split("\n")[0]).toBe(`❌ The right answer: **${right.label}**`);
    expect(learner.state?.answers["m1-q1"]).toEqual({ optionId: wrong.id, correct: false });
  });

  it("treats a second press on the question as stale and scores once", () => {
    const learner = atFirstQuestion();
    const question = learner.lastChoices();
    learner.send({ type: "choice", data: question[0]!.data });
    const stateAfter = learner.state;
    const replies = learner.send({ type: "choice", data: question[1]!.data });
    expect(replies).toEqual([]);
    expect(learner.lastNotice).toBe("That button belongs to an earlier message. Please use the latest one.");
    expect(learner.state).toEqual(stateAfter);
    expect(learner.eventsOf("answer_graded")).toHaveLength(1);
    expect(learner.eventsOf("stale_choice")).toHaveLength(1);
  });
});

describe("other input", () => {
  const cases: { name: string; input: Parameters<EngineLearner["send"]>[0]; reply: string }[] = [
    { name: "sticker", input: { type: "unsupported", media: "sticker" }, reply: "I can read text and buttons only. Please type your message, or tap a button." },
    { name: "voice note", input: { type: "unsupported", media: "voice" }, reply: "I can read text and buttons only. Please type your message, or tap a button." },
    { name: "unknown command", input: { type: "command", command: "teleport", args: "" }, reply: "I don't know the command /teleport. Send /help to see the commands." },
    { name: "text over 4096", input: { type: "text", text: "x".repeat(4097) }, reply: "Your message has 4097 characters, over the limit of 4096. Please send a shorter one." },
    { name: "text where a button is expected", input: { type: "text", text: "what now?" }, reply: "Please tap one of the buttons, or type its number. Send /help for the commands." },
    { name: "button from another service", input: { type: "choice", data: "garbage" }, reply: "" },
  ];
  for (const testCase of cases) {
    it(`${testCase.name} changes nothing`, () => {
      const learner = onboard("en");
      const before = learner.state;
      const replies = learner.send(testCase.input);
      expect(learner.state).toEqual(before);
      expect(replies.map((reply) => reply.text)).toEqual(testCase.reply ? [testCase.reply] : []);
    });
  }

  it("plain words run commands in any language", () => {
    const learner = onboard("es");
    const [help] = learner.text("ayuda");
    expect(help?.text.startsWith("**Comandos**")).toBe(true);
    const position = learner.state?.part;
    learner.text("Siguiente");
    expect(learner.state?.part).toBe((position ?? 0) + 1);
  });

  it("a forged choice on the current prompt is named unknown", () => {
    const learner = onboard("en");
    const before = learner.state;
    const replies = learner.send({ type: "choice", data: `${before!.prompt}:role.hacker` });
    expect(replies).toEqual([]);
    expect(learner.lastNotice).toBe("That button is not part of this step. Please use the buttons of the latest message.");
    expect(learner.state).toEqual(before);
  });

  it("whitespace at a reflection asks for text", () => {
    const learner = onboard("en");
    while (learner.state?.phase !== "reflection") {
      if (learner.state?.phase === "question") learner.send({ type: "choice", data: learner.lastChoices()[0]!.data });
      else learner.press("next");
    }
    const [reply] = learner.text("   ");
    expect(reply?.text).toBe("Please type your reflection as text, or tap Skip.");
    expect(learner.eventsOf("reflection_saved")).toHaveLength(0);
  });

  it("/progress draws a bar per module", () => {
    const learner = onboard("en");
    learner.press("next");
    const [progress] = learner.command("progress");
    expect(progress?.text.split("\n").slice(0, 3)).toEqual([
      "**Your progress**",
      `1. ${course.modules[0]!.text.en!.title}`,
      "░░░░░░░░░░ 0%",
    ]);
  });

  it("/language switches the course language and keeps the place", () => {
    const learner = onboard("en");
    learner.press("next");
    const place = { position: learner.state?.position, part: learner.state?.part };
    learner.command("language");
    const messages = learner.press("lang.es");
    expect(messages[0]?.text).toBe("Idioma cambiado.");
    expect(learner.state).toMatchObject({ language: "es", ...place, menu: null });
  });

  it("/glossary answers a term typed after the word", () => {
    const learner = onboard("fr");
    const [answer] = learner.text("glossaire enfant non accompagné");
    expect(answer?.text.startsWith("**Enfant non accompagné")).toBe(true);
    expect(answer?.text).toContain("Source");
  });

  it("a reflection starting with a command word is kept as text", () => {
    const learner = onboard("fr");
    while (learner.state?.phase !== "reflection") {
      if (learner.state?.phase === "question") learner.send({ type: "choice", data: learner.lastChoices()[0]!.data });
      else learner.press("next");
    }
    learner.text("Comment je ferais : écouter d'abord.");
    expect(learner.eventsOf("reflection_saved")).toEqual([{ type: "reflection_saved", stepId: "m1-r1", text: "Comment je ferais : écouter d'abord." }]);
  });
});

describe("typed choices", () => {
  const choices = [
    { data: encodeCallback({ prompt: 1, choice: "o.a" }), label: "Separated child" },
    { data: encodeCallback({ prompt: 1, choice: "o.b" }), label: "Niño no acompañado" },
  ];
  const cases: [string, string | null][] = [
    ["1", "o.a"], ["2.", "o.b"], ["2️⃣", "o.b"], ["b", "o.b"], ["B)", "o.b"],
    ["separated CHILD", "o.a"], ["nino no acompanado", "o.b"], ["3", null], ["maybe", null],
  ];
  for (const [typed, expected] of cases) {
    it(`"${typed}" selects ${expected ?? "nothing"}`, () => {
      const match = matchTypedChoice(choices, typed);
      expect(match ? match.data.split(":")[1] : null).toBe(expected);
    });
  }
});
