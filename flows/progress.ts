import type { Course } from "../src/content/model.js";
import type { Turn } from "../src/engine/turn.js";
import type { EnrollmentState } from "../src/engine/types.js";

export interface ModuleScore {
  correct: number;
  questions: number;
  /** Whole percent of questions right at the first try. */
  percent: number;
  passed: boolean;
}

/** Scores a module from the first answers to its quiz questions. */
export function moduleScore(course: Course, state: EnrollmentState, moduleIndex: number): ModuleScore {
  const module = course.modules[moduleIndex];
  const steps = course.steps[course.sourceLanguage];
  const quizIds = (module?.stepIds ?? []).filter((stepId) => steps?.get(stepId)?.kind === "quiz");
  const correct = quizIds.filter((stepId) => state.answers[stepId]?.correct).length;
  const percent = quizIds.length > 0 ? Math.round((100 * correct) / quizIds.length) : 100;
  return { correct, questions: quizIds.length, percent, passed: percent >= course.passMark };
}

/** Counts the steps of a module that the learner has finished. */
export function stepsDone(course: Course, state: EnrollmentState, moduleIndex: number): number {
  const total = course.modules[moduleIndex]?.stepIds.length ?? 0;
  if (state.stage === "finished") return total;
  if (state.stage !== "course") return 0;
  const position = course.order[state.position];
  if (!position) return 0;
  if (moduleIndex < position.moduleIndex) return total;
  if (moduleIndex > position.moduleIndex) return 0;
  if (state.phase === "module_end") return total;
  return course.modules[moduleIndex]?.stepIds.indexOf(position.stepId) ?? 0;
}

const barWidth = 10;

/** Renders a text progress bar such as `▓▓▓▓░░░░░░`. */
export function progressBar(done: number, total: number): string {
  const filled = total > 0 ? Math.round((barWidth * done) / total) : 0;
  return "▓".repeat(filled) + "░".repeat(barWidth - filled);
}

/** Sends the progress of every module and the quiz scores so far. */
export function presentProgress(turn: Turn): void {
  const { course } = turn.context;
  const lines = [`**${turn.t("progress.title")}**`];
  course.modules.forEach((module, moduleIndex) => {
    const total = module.stepIds.length;
    const done = stepsDone(course, turn.state, moduleIndex);
    const percent = Math.round((100 * done) / total);
    const title = module.text[turn.language]?.title ?? module.id;
    lines.push(`${moduleIndex + 1}. ${title}\n${progressBar(done, total)} ${percent}%`);
    const score = moduleScore(course, turn.state, moduleIndex);
    const answered = module.stepIds.filter((stepId) => course.steps[course.sourceLanguage]?.get(stepId)?.kind === "quiz" && turn.state.answers[stepId]).length;
    if (answered > 0) {
      lines.push(turn.t("progress.quiz", { correct: score.correct, count: answered, questions: score.questions }));
    }
    if (module.stepIds.some((stepId) => turn.state.skipped.includes(stepId))) {
      lines.push(turn.t("progress.episodeSkipped"));
    }
  });
  turn.say(lines.join("\n"));
}
