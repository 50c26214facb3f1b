import type { Turn } from "../src/engine/turn.js";
import { choices, presentCurrent } from "./present.js";

/** Handles a choice made during onboarding or in the language menu. */
export function chooseOnboarding(turn: Turn, choice: string): boolean {
  const { course, roles } = turn.context;
  if (choice.startsWith("lang.")) {
    const language = choice.slice("lang.".length);
    if (!course.languages.includes(language)) return false;
    const wasMenu = turn.state.menu === "language";
    turn.emit({ type: "language_set", language });
    if (turn.state.stage === "language") {
      turn.move({ language, stage: "consent", menu: null });
    } else {
      turn.move({ language, menu: null });
    }
    if (wasMenu) turn.say(turn.t("language.changed"));
    presentCurrent(turn);
    return true;
  }
  if (turn.state.stage === "consent" && choice === choices.consentYes) {
    turn.emit({ type: "consent_given" });
    turn.move({ stage: "role" });
    presentCurrent(turn);
    return true;
  }
  if (turn.state.stage === "consent" && choice === choices.consentNo) {
    turn.emit({ type: "consent_declined" });
    turn.move({ stage: "left" });
    presentCurrent(turn);
    return true;
  }
  if (turn.state.stage === "role" && choice.startsWith("role.")) {
    const role = choice.slice("role.".length);
    if (!roles.includes(role)) return false;
    turn.emit({ type: "role_set", role });
    turn.move({ role, stage: "pace" });
    presentCurrent(turn);
    return true;
  }
  return false;
}
