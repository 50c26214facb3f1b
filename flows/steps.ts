import type { Turn } from "../src/engine/turn.js";
import { nextRelease } from "../src/engine/schedule.js";
import { choices, currentStep, presentCurrent, presentModuleIntro } from "./present.js";
import { moduleScore } from "./progress.js";

/** Starts the course after onboarding: the first step is released at once. */
export function startCourse(turn: Turn): void {
  const { course } = turn.context;
  turn.move({ stage: "course", menu: null });
  turn.say(turn.t("onboarding.ready", { title: course.title[turn.language] ?? course.id }));
  enterStep(turn, 0, { release: true });
}

/**
 * Tells whether the learner's pace releases the step at `position` on its
 * own schedule: each micro-lesson for the daily paces, each module's first
 * step for the weekly pace. The first step of the course is never held.
 */
export function isReleasePoint(turn: Turn, position: number): boolean {
  const { course } = turn.context;
  const target = course.order[position];
  if (!target || position === 0) return false;
  switch (turn.state.pace) {
    case "daily":
    case "twice-daily":
      return course.steps[course.sourceLanguage]?.get(target.stepId)?.kind === "lesson";
    case "weekly":
      return course.modules[target.moduleIndex]?.stepIds[0] === target.stepId;
    default:
      return false;
  }
}

/**
 * Moves to the first phase of the step at `position` and presents it. At a
 * release point whose time has not come, the step is held instead, unless
 * `release` is set because the scheduler or the learner requested it now.
 */
export function enterStep(turn: Turn, position: number, options: { release?: boolean } = {}): void {
  const { course } = turn.context;
  const target = course.order[position];
  if (!target) return finishCourse(turn);
  const releasePoint = position === 0 || isReleasePoint(turn, position);
  const { nextReleaseAt } = turn.state;
  if (releasePoint && !options.release && nextReleaseAt !== null && turn.now < nextReleaseAt) {
    turn.move({ position, part: 0, phase: "waiting" });
    turn.emit({ type: "lesson_held", stepId: target.stepId, until: nextReleaseAt });
    return presentCurrent(turn);
  }
  if (releasePoint) scheduleNextRelease(turn);
  if (turn.state.phase === "waiting") {
    turn.emit({ type: "lesson_released", stepId: target.stepId });
    turn.state = { ...turn.state, idleSince: turn.now };
  }

  turn.move({ position, part: 0, phase: "reading" });
  const step = currentStep(turn);
  const phase =
    step.kind === "quiz" ? "question"
      : step.kind === "reflection" ? "reflection"
        : step.kind === "scenario" && step.contentNote ? "note"
          : "reading";
  turn.state = { ...turn.state, phase };
  const firstOfModule = course.modules[target.moduleIndex]?.stepIds[0] === target.stepId;
  if (firstOfModule) presentModuleIntro(turn, target.moduleIndex);
  turn.emit({ type: "step_started", stepId: step.id });
  presentCurrent(turn);
}

function scheduleNextRelease(turn: Turn): void {
  const { pace, hour, timeZone } = turn.state;
  const next = pace && hour !== null && timeZone
    ? nextRelease(pace, turn.now, hour, timeZone, turn.context.schedule)
    : null;
  turn.state = { ...turn.state, nextReleaseAt: next, lastReleaseAt: turn.now };
}

/** Leaves the current step: to the module summary after a module's last step, else to the next step. */
export function finishStep(turn: Turn): void {
  const { course } = turn.context;
  const position = course.order[turn.state.position];
  const next = course.order[turn.state.position + 1];
  if (position && (!next || next.moduleIndex !== position.moduleIndex)) {
    const module = course.modules[position.moduleIndex];
    const score = moduleScore(course, turn.state, position.moduleIndex);
    turn.move({ phase: "module_end", part: 0 });
    turn.emit({
      type: "module_completed",
      moduleId: module?.id ?? "",
      correct: score.correct,
      questions: score.questions,
      passed: score.passed,
    });
    return presentCurrent(turn);
  }
  enterStep(turn, turn.state.position + 1);
}

function finishCourse(turn: Turn): void {
  turn.move({ stage: "finished", phase: "module_end" });
  turn.emit({ type: "course_completed" });
  presentCurrent(turn);
}

/** Goes on from where the learner is, as the Next button does. */
export function goOn(turn: Turn): void {
  const step = currentStep(turn);
  switch (turn.state.phase) {
    case "reading": {
      const count = step.kind === "lesson" || step.kind === "scenario" ? step.messages.length : 1;
      if (turn.state.part + 1 < count) {
        turn.move({ part: turn.state.part + 1 });
        return presentCurrent(turn);
      }
      if (step.kind === "scenario") {
        turn.move({ phase: "question" });
        return presentCurrent(turn);
      }
      return finishStep(turn);
    }
    case "note":
      turn.move({ phase: "reading", part: 0 });
      return presentCurrent(turn);
    case "feedback":
      return finishStep(turn);
    case "module_end":
      return enterStep(turn, turn.state.position + 1);
    case "waiting":
      return enterStep(turn, turn.state.position, { release: true });
    case "question":
      turn.say(turn.t("input.answerFirst"));
      return presentCurrent(turn);
    case "reflection":
      return skip(turn);
  }
}

/** Handles the Skip button: a content-noted episode or a reflection. */
export function skip(turn: Turn): void {
  const step = currentStep(turn);
  if (step.kind === "scenario" && turn.state.phase === "note") {
    turn.state = { ...turn.state, skipped: [...turn.state.skipped, step.id] };
    turn.emit({ type: "scenario_skipped", stepId: step.id });
    turn.say(turn.t("scenario.skipped"));
    return finishStep(turn);
  }
  if (step.kind === "reflection" && turn.state.phase === "reflection") {
    turn.emit({ type: "reflection_skipped", stepId: step.id });
    return finishStep(turn);
  }
  presentCurrent(turn);
}

/** Grades an option of the current question or decision. */
export function answer(turn: Turn, optionId: string): void {
  const step = currentStep(turn);
  if (step.kind !== "quiz" && step.kind !== "scenario") return presentCurrent(turn);
  const option = step.options.find((candidate) => candidate.id === optionId);
  if (!option) return presentCurrent(turn);
  const recorded = { optionId, correct: option.correct };
  if (step.kind === "quiz") {
    turn.emit({ type: "answer_graded", stepId: step.id, optionId, correct: option.correct });
  } else {
    turn.emit({ type: "decision_made", stepId: step.id, optionId });
  }
  const answers = turn.state.answers[step.id] ? turn.state.answers : { ...turn.state.answers, [step.id]: recorded };
  turn.move({ phase: "feedback", answers });
  presentCurrent(turn);
}

/** Stores a reflection and goes on. */
export function reflect(turn: Turn, text: string): void {
  const step = currentStep(turn);
  turn.emit({ type: "reflection_saved", stepId: step.id, text });
  turn.say(turn.t("reflection.saved"));
  finishStep(turn);
}

export { choices };
