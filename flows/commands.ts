import type { Turn } from "../src/engine/turn.js";
import { presentCurrent } from "./present.js";
import { presentProgress } from "./progress.js";
import { goOn } from "./steps.js";
import { freshState } from "../src/engine/state.js";
import { leaveComment, presentGlossary, presentResources } from "./reference.js";
import { releaseIfDue } from "./schedule.js";

/** Commands that every channel offers, in the order help lists them. */
export const commandNames = ["start", "next", "progress", "resources", "glossary", "settings", "pause", "resume", "language", "stop", "help"] as const;
export type CommandName = (typeof commandNames)[number];

/** Runs a command with its arguments; returns false when the command is unknown. */
export function runCommand(turn: Turn, command: string, args = ""): boolean {
  switch (command) {
    case "glossary":
      presentGlossary(turn, args);
      return true;
    case "resources":
      if (turn.state.stage !== "course" && turn.state.stage !== "finished") return notStarted(turn);
      presentResources(turn, args);
      return true;
    case "comment":
      if (turn.state.stage !== "course") return notStarted(turn);
      leaveComment(turn, args);
      return true;
    case "start":
      return start(turn);
    case "help":
      turn.say(turn.t("help.text"));
      return true;
    case "progress":
      if (turn.state.stage !== "course" && turn.state.stage !== "finished") return notStarted(turn);
      presentProgress(turn);
      return true;
    case "language":
      turn.move({ menu: "language" });
      presentCurrent(turn);
      return true;
    case "settings":
      if (turn.state.stage !== "course" && turn.state.stage !== "finished") return notStarted(turn);
      turn.move({ menu: "settings" });
      presentCurrent(turn);
      return true;
    case "pause":
      if (turn.state.stage !== "course") return notStarted(turn);
      if (!turn.state.paused) turn.emit({ type: "paused" });
      // The prompt stays the same, so the buttons already shown keep working.
      turn.state = { ...turn.state, paused: true };
      turn.say(turn.t("pause.paused"));
      return true;
    case "resume":
      if (turn.state.stage !== "course") return notStarted(turn);
      if (turn.state.paused) turn.emit({ type: "resumed" });
      turn.state = { ...turn.state, paused: false };
      turn.say(turn.t("pause.resumed"));
      if (!releaseIfDue(turn)) presentCurrent(turn);
      return true;
    case "stop":
      turn.emit({ type: "sends_stopped" });
      turn.move({ stopped: true, menu: null });
      turn.say(turn.t("stop.confirmed"));
      return true;
    case "next":
      if (turn.state.stage !== "course") {
        presentCurrent(turn);
        return true;
      }
      // Next closes an open menu and goes on, so that no menu can hold a learner.
      if (turn.state.menu) turn.move({ menu: null });
      goOn(turn);
      return true;
    default:
      return false;
  }
}

function notStarted(turn: Turn): boolean {
  turn.say(turn.t("progress.notStarted"));
  presentCurrent(turn);
  return true;
}

function start(turn: Turn): boolean {
  if (turn.state.stopped) {
    turn.emit({ type: "sends_restarted" });
    turn.move({ stopped: false });
    turn.say(turn.state.paused ? `${turn.t("stop.restarted")}\n${turn.t("pause.isPaused")}` : turn.t("stop.restarted"));
    if (!releaseIfDue(turn)) presentCurrent(turn);
    return true;
  }
  if (turn.state.stage === "left") {
    turn.move({ ...freshState(), prompt: turn.state.prompt });
    turn.emit({ type: "enrollment_started" });
    presentCurrent(turn);
    return true;
  }
  if (turn.state.stage === "course" || turn.state.stage === "finished") {
    turn.say(turn.t("onboarding.welcomeBack"));
  }
  if (!releaseIfDue(turn)) presentCurrent(turn);
  return true;
}
