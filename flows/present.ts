import { stepAt, type Step } from "../src/content/model.js";
import { optionChoice } from "../src/engine/callback.js";
import type { Turn } from "../src/engine/turn.js";
import type { Choice } from "../src/engine/types.js";
import { moduleScore } from "./progress.js";
import { extractImage } from "../src/render/markdown.js";
import { describeRelease, presentHourMenu, presentPaceMenu, presentSettingsMenu, presentZoneMenu } from "./schedule.js";

/** Choice ids shared by the flows. */
export const choices = {
  next: "next",
  skip: "skip",
  consentYes: "consent.yes",
  consentNo: "consent.no",
  /** Sent by a reminder's button: shows the current step again. */
  resume: "resume",
  language: (code: string) => `lang.${code}`,
  role: (role: string) => `role.${role}`,
} as const;

/** Sends what the learner should see now: the open menu, the onboarding question or the step. */
export function presentCurrent(turn: Turn): void {
  const { state } = turn;
  if (state.menu === "language") return presentLanguageMenu(turn);
  if (state.menu === "settings") return presentSettingsMenu(turn);
  if (state.menu === "pace") return presentPaceMenu(turn);
  if (state.menu === "hour") return presentHourMenu(turn);
  if (state.menu === "zone" || state.menu?.startsWith("region.")) return presentZoneMenu(turn);
  switch (state.stage) {
    case "language":
      return presentLanguageMenu(turn);
    case "consent":
      return turn.say(turn.t("onboarding.consent"), [
        [turn.button(choices.consentYes, turn.t("onboarding.agree"))],
        [turn.button(choices.consentNo, turn.t("onboarding.decline"))],
      ]);
    case "role":
      return turn.say(turn.t("onboarding.role"), rolesKeyboard(turn));
    case "pace":
      return presentPaceMenu(turn);
    case "hour":
      return presentHourMenu(turn);
    case "zone":
      return presentZoneMenu(turn);
    case "left":
      return turn.say(turn.t("onboarding.left"));
    case "finished":
      return turn.say(`${turn.t("course.finished", { title: courseTitle(turn) })}\n\n${turn.t("course.survey")}`);
    case "course":
      return presentStep(turn);
  }
}

function presentLanguageMenu(turn: Turn): void {
  const { languageNames, course } = turn.context;
  const lines = course.languages.map((code) => turn.context.t(code, "onboarding.chooseLanguage"));
  const intro = turn.state.stage === "language" ? `${turn.t("onboarding.welcome")}\n\n` : "";
  turn.say(`${intro}${[...new Set(lines)].join("\n")}`, [
    course.languages.map((code) => turn.button(choices.language(code), languageNames[code] ?? code)),
  ]);
}

function rolesKeyboard(turn: Turn): Choice[][] {
  const buttons = turn.context.roles.map((role) =>
    turn.button(choices.role(role), turn.t(`roles.${role}`)),
  );
  const rows: Choice[][] = [];
  for (let index = 0; index < buttons.length; index += 2) rows.push(buttons.slice(index, index + 2));
  return rows;
}

function presentStep(turn: Turn): void {
  const { state } = turn;
  const step = currentStep(turn);
  switch (state.phase) {
    case "reading":
      return presentReading(turn, step);
    case "note":
      return turn.say(
        turn.t("scenario.contentNote", { note: step.kind === "scenario" ? step.contentNote : "" }),
        [[turn.button(choices.next, turn.t("buttons.continue")), turn.button(choices.skip, turn.t("buttons.skipEpisode"))]],
      );
    case "question":
      return presentQuestion(turn, step);
    case "reflection":
      return turn.say(
        `${heading(turn, step)}\n\n${step.kind === "reflection" ? step.prompt : ""}\n\n${turn.t("reflection.privacy")}`,
        [[turn.button(choices.skip, turn.t("buttons.skip"))]],
      );
    case "feedback":
      return presentFeedback(turn, step);
    case "module_end":
      return presentModuleEnd(turn);
    case "waiting":
      return turn.say(
        turn.t(turn.state.paused ? "schedule.heldPaused" : "schedule.held", describeRelease(turn)),
        [[turn.button(choices.next, turn.t("buttons.nextLessonNow"))]],
      );
  }
}

/** Returns the step at the learner's position, in the learner's language. */
export function currentStep(turn: Turn): Step {
  return stepAt(turn.context.course, turn.language, turn.state.position);
}

function presentReading(turn: Turn, step: Step): void {
  if (step.kind !== "lesson" && step.kind !== "scenario") return;
  const { part } = turn.state;
  const count = step.messages.length;
  const top = part === 0 ? `${heading(turn, step)}\n\n` : "";
  const counter = count > 1 ? `\n\n_${part + 1}/${count}_` : "";
  const { text, image } = extractImage(step.messages[part] ?? "");
  turn.say(`${top}${text}${counter}`, [[turn.button(choices.next, turn.t("buttons.next"))]], image ?? undefined);
}

function presentQuestion(turn: Turn, step: Step): void {
  if (step.kind !== "quiz" && step.kind !== "scenario") return;
  const text = step.kind === "quiz" ? `${heading(turn, step)}\n\n${step.question}` : step.decision;
  turn.say(
    text,
    step.options.map((option) => [turn.button(optionChoice(option.id), option.label)]),
  );
}

function presentFeedback(turn: Turn, step: Step): void {
  const answer = turn.state.answers[step.id];
  const next = [[turn.button(choices.next, turn.t("buttons.next"))]];
  if (step.kind === "reflection") return turn.say(turn.t("reflection.saved"), next);
  if ((step.kind !== "quiz" && step.kind !== "scenario") || !answer) return turn.say(turn.t("buttons.next"), next);

  const chosen = step.options.find((option) => option.id === answer.optionId);
  if (step.kind === "scenario") {
    return turn.say(`${turn.t("scenario.yourChoice", { label: chosen?.label ?? "" })}\n\n${chosen?.feedback ?? ""}`, next);
  }
  const right = step.options.find((option) => option.correct);
  const verdict = answer.correct
    ? turn.t("quiz.right")
    : turn.t("quiz.wrong", { answer: right?.label ?? "" });
  turn.say(`${verdict}\n\n${chosen?.feedback ?? ""}\n\n${turn.t("quiz.why", { explanation: step.explanation })}`, next);
}

function presentModuleEnd(turn: Turn): void {
  const { course } = turn.context;
  const position = course.order[turn.state.position];
  const moduleIndex = position?.moduleIndex ?? 0;
  const module = course.modules[moduleIndex];
  const score = moduleScore(turn.context.course, turn.state, moduleIndex);
  const title = module?.text[turn.language]?.title ?? module?.id ?? "";
  const lines = [turn.t("module.finished", { number: moduleIndex + 1, title })];
  if (score.questions > 0) {
    lines.push(turn.t("module.score", { correct: score.correct, count: score.questions, percent: score.percent }));
    lines.push(turn.t(score.passed ? "module.passed" : "module.notPassed", { passMark: course.passMark, number: moduleIndex + 1 }));
  }
  const following = course.modules[moduleIndex + 1];
  if (following) {
    lines.push(turn.t("module.upNext", { number: moduleIndex + 2, title: following.text[turn.language]?.title ?? following.id }));
    return turn.say(lines.join("\n\n"), [[turn.button(choices.next, turn.t("buttons.startModule", { number: moduleIndex + 2 }))]]);
  }
  turn.say(lines.join("\n\n"), [[turn.button(choices.next, turn.t("buttons.finishCourse"))]]);
}

/** Sends the module's title, summary and weekly time, before its first step. */
export function presentModuleIntro(turn: Turn, moduleIndex: number): void {
  const module = turn.context.course.modules[moduleIndex];
  if (!module) return;
  const text = module.text[turn.language];
  turn.say(turn.t("module.intro", {
    number: moduleIndex + 1,
    title: text?.title ?? module.id,
    summary: text?.summary ?? "",
    minutes: module.minutesPerWeek,
  }));
}

function heading(turn: Turn, step: Step): string {
  const position = turn.context.course.order[turn.state.position];
  const module = (position?.moduleIndex ?? 0) + 1;
  const label = turn.t(`kinds.${step.kind}`);
  return step.title ? `**${label} · ${step.title}**` : `**${label} · ${turn.t("module.short", { number: module })}**`;
}

function courseTitle(turn: Turn): string {
  return turn.context.course.title[turn.language] ?? turn.context.course.id;
}
