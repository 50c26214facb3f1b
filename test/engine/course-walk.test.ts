import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeCallback } from "../../src/engine/callback.js";
import { EngineLearner } from "../support/learner.js";
import { loadValidCourse, projectRoot, strictContext } from "../support/context.js";

const course = loadValidCourse(join(projectRoot, "content"));
const context = strictContext(course);

describe("automated learner", () => {
  for (const language of course.languages) {
    it(`takes the whole course in ${language}`, () => {
      const learner = new EngineLearner(context);
      learner.joinAs(language, "volunteer");
      learner.press("pace.self");
      learner.press("zone.Etc/UTC");

      // Answer the quiz with each option in turn, skip the second episode
      // and the last reflection, so that every kind of step and answer is met.
      let turns = 0;
      while (learner.state?.stage === "course" && turns++ < 2000) {
        const before = learner.state.prompt;
        const choices = learner.lastChoices().map((choice) => decodeCallback(choice.data)?.choice ?? "");
        const stepId = course.order[learner.state.position]?.stepId ?? "";
        if (learner.state.phase === "question") {
          const options = choices.filter((choice) => choice.startsWith("o."));
          learner.press(options[turns % options.length]!);
        } else if (learner.state.phase === "note") {
          learner.press(stepId === "m2-s1" ? "skip" : "next");
        } else if (learner.state.phase === "reflection") {
          if (stepId === "m6-r1") learner.press("skip");
          else learner.text("I would listen first and explain each option plainly.");
        } else {
          learner.press("next");
        }
        expect(learner.state.prompt, `no progress at ${stepId} (${learner.state.phase})`).toBeGreaterThan(before);
      }

      expect(learner.state?.stage).toBe("finished");
      const started = learner.eventsOf("step_started").map((event) => event.stepId);
      expect(started).toEqual(course.order.map((position) => position.stepId));
      expect(new Set(started).size).toBe(started.length);
      expect(learner.eventsOf("module_completed").map((event) => event.moduleId)).toEqual(course.modules.map((module) => module.id));
      expect(learner.eventsOf("answer_graded")).toHaveLength(30);
      expect(learner.eventsOf("course_completed")).toHaveLength(1);
      const skipped = learner.eventsOf("scenario_skipped").map((event) => event.stepId);
      const noted = course.order.filter((position) => {
        const step = course.steps[language]?.get(position.stepId);
        return step?.kind === "scenario" && step.contentNote;
      });
      expect(skipped).toEqual(noted.some((position) => position.stepId === "m2-s1") ? ["m2-s1"] : []);
      for (const message of learner.transcript) {
        expect(message.text.trim().length, "an empty message").toBeGreaterThan(0);
        expect(message.text, "a placeholder left unfilled").not.toMatch(/\{\{|\}\}/);
      }
      expect(learner.transcript.at(-1)?.text).toContain(course.title[language]!);
    });
  }
});
