import type { Turn } from "../src/engine/turn.js";
import { presentCurrent } from "./present.js";
import { presentProgress } from "./progress.js";
import { goOn } from "./steps.js";
import { freshState } from "../src/engine/state.js";

/** Commands that every channel offers, in the order help lists them. */
export const commandNames = ["start", "next", "progress", "language", "help"] as const;
export type CommandName = (typeof commandNames)[number];

/** Runs a command; returns false when the command is unknown. */
export function runCommand(turn: Turn, command: string): boolean {
  switch (command) {
    case "start":
      return start(turn);
    case "help":
      turn.say(turn.t("help.text"));
      return true;
    case "progress":
      if (turn.state.stage !== "course" && turn.state.stage !== "finished") {
        turn.say(turn.t("progress.notStarted"));
        presentCurrent(turn);
        return true;
      }
      presentProgress(turn);
      return true;
    case "language":
      turn.move({ menu: "language" });
      presentCurrent(turn);
      return true;
    case "next":
      if (turn.state.menu || turn.state.stage !== "course") {
        presentCurrent(turn);
        return true;
      }
      goOn(turn);
      return true;
    default:
      return false;
  }
}

function start(turn: Turn): boolean {
  if (turn.state.stage === "left") {
    turn.move({ ...freshState(), prompt: turn.state.prompt });
    turn.emit({ type: "enrollment_started" });
    presentCurrent(turn);
    return true;
  }
  if (turn.state.stage === "course" || turn.state.stage === "finished") {
    turn.say(turn.t("onboarding.welcomeBack"));
  }
  presentCurrent(turn);
  return true;
}
