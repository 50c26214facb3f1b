import { chooseOnboarding } from "../../flows/onboarding.js";
import { choices, presentCurrent } from "../../flows/present.js";
import { runCommand } from "../../flows/commands.js";
import { answer, enterStep, goOn, reflect, skip } from "../../flows/steps.js";
import { chooseSchedule, isChoosingZone, setTimeZone } from "../../flows/schedule.js";
import { decodeCallback } from "./callback.js";
import { escapeMarkdown } from "../render/markdown.js";
import { freshState } from "./state.js";
import { Turn } from "./turn.js";
import type { Choice, EngineContext, EngineResult, EnrollmentState, Inbound } from "./types.js";

/** The maximum length of a learner's text, in characters: Telegram's own message limit. */
export const maxInboundCharacters = 4096;

/**
 * Runs the flows over one inbound message. Pure: it reads the state and the
 * input and returns the new state, the events and the replies.
 * `state` is null for a learner the service has not seen before.
 */
export function handleInbound(
  state: EnrollmentState | null,
  inbound: Inbound,
  context: EngineContext,
  now: number,
): EngineResult {
  if (state === null) {
    const turn = new Turn({ ...freshState(), idleSince: now }, context, now);
    turn.emit({ type: "enrollment_started" });
    presentCurrent(turn);
    return turn.result();
  }

  const turn = new Turn(state, context, now);
  if (inbound.type === "release" || inbound.type === "remind") {
    if (inbound.type === "release") release(turn);
    else remind(turn);
    return turn.result();
  }

  // After STOP, only /start (or its word) gets a reply, so that nothing else is sent.
  if (state.stopped && !isStart(inbound, context)) {
    turn.emit({ type: "input_ignored", reason: "stopped" });
    return turn.result();
  }
  noteActivity(turn);

  switch (inbound.type) {
    case "unsupported":
      turn.emit({ type: "input_rejected", reason: `unsupported:${inbound.media}` });
      turn.say(turn.t(state.phase === "reflection" && state.stage === "course" ? "input.reflectionAsText" : "input.unsupported"));
      break;
    case "command":
      // A command in the learner's language, such as /arrêter, runs the command its word names.
      if (!runCommand(turn, inbound.command, inbound.args) && !runCommand(turn, turn.context.commandWords.get(inbound.command) ?? "", inbound.args)) {
        turn.emit({ type: "input_rejected", reason: "unknown_command" });
        turn.say(turn.t("input.unknownCommand", { command: escapeMarkdown(inbound.command.slice(0, 40)) }));
      }
      break;
    case "choice":
      handleChoice(turn, inbound.data);
      break;
    case "text":
      handleText(turn, inbound.text);
      break;
  }
  return turn.result();
}

function isStart(inbound: Inbound, context: EngineContext): boolean {
  if (inbound.type === "command") return inbound.command === "start" || context.commandWords.get(inbound.command) === "start";
  return inbound.type === "text" && context.commandWords.get(bareWord(inbound.text)) === "start";
}

/** Lowercases a typed word and drops the punctuation around it: "¡Parar!" gives "parar". */
function bareWord(text: string): string {
  return text.trim().toLocaleLowerCase().replace(/^[¡¿"'«]+/u, "").replace(/[.!?…"'»]+$/u, "");
}

/** Restarts the reminder count on any message from the learner, and wakes a dormant enrollment. */
function noteActivity(turn: Turn): void {
  if (turn.state.dormant) turn.emit({ type: "enrollment_reactivated" });
  turn.state = { ...turn.state, idleSince: turn.now, remindersSent: 0, dormant: false };
}

function canSendUnasked(state: EnrollmentState): boolean {
  return state.stage === "course" && !state.paused && !state.stopped && !state.dormant;
}

/** Releases the held step when its time has come; does nothing otherwise. */
function release(turn: Turn): void {
  const { state } = turn;
  if (!canSendUnasked(state) || state.phase !== "waiting") return;
  if (state.nextReleaseAt !== null && turn.now < state.nextReleaseAt) return;
  // A menu left open must not hold the lesson back: the release closes it.
  if (state.menu !== null) turn.state = { ...state, menu: null };
  enterStep(turn, state.position, { release: true });
}

/** Sends the next reminder with a one-tap way back, and marks the enrollment dormant after the last one. */
function remind(turn: Turn): void {
  const { state } = turn;
  const days = turn.context.schedule.reminderDays;
  if (!canSendUnasked(state) || state.phase === "waiting" || state.remindersSent >= days.length) return;
  const count = state.remindersSent + 1;
  turn.state = { ...state, remindersSent: count };
  turn.emit({ type: "reminder_sent", count });
  turn.say(turn.t(count < days.length ? "reminder.first" : "reminder.last"), [[turn.button(choices.resume, turn.t("buttons.continue"))]]);
  if (count >= days.length) {
    turn.state = { ...turn.state, dormant: true };
    turn.emit({ type: "enrollment_dormant" });
  }
}

function handleChoice(turn: Turn, data: string): void {
  const decoded = decodeCallback(data);
  if (decoded && decoded.prompt === turn.state.prompt) {
    if (makeChoice(turn, decoded.choice)) return;
    // The prompt is current but the choice is not one of its buttons: forged or from another build.
    turn.emit({ type: "input_rejected", reason: "unknown_choice" });
    turn.notice = turn.t("input.unknownChoice");
    return;
  }
  turn.emit({ type: "stale_choice", data });
  turn.notice = turn.t("input.stale");
}

/** Applies a choice of the current prompt; returns false when it does not belong to it. */
function makeChoice(turn: Turn, choice: string): boolean {
  const { state } = turn;
  if (choice === choices.resume) {
    presentCurrent(turn);
    return true;
  }
  if (chooseSchedule(turn, choice)) return true;
  if (state.menu !== null || state.stage !== "course") return chooseOnboarding(turn, choice);
  if (choice === choices.next) {
    goOn(turn);
    return true;
  }
  if (choice === choices.skip && (state.phase === "note" || state.phase === "reflection")) {
    skip(turn);
    return true;
  }
  if (choice.startsWith("o.") && state.phase === "question") {
    answer(turn, choice.slice(2));
    return true;
  }
  return false;
}

function handleText(turn: Turn, raw: string): void {
  const text = raw.trim();
  if (raw.length > maxInboundCharacters) {
    turn.emit({ type: "input_rejected", reason: "too_long" });
    turn.say(turn.t("input.tooLong", { length: raw.length, max: maxInboundCharacters }));
    return;
  }
  const { state } = turn;
  const reflecting = state.stage === "course" && state.menu === null && state.phase === "reflection";
  // A plain word runs a command when it is the whole message. Only the
  // glossary word takes a term after it, and not inside a reflection.
  const [firstWord = "", ...rest] = text.split(/\s+/);
  const command = turn.context.commandWords.get(rest.length === 0 ? bareWord(firstWord) : firstWord.toLocaleLowerCase());
  const takesArgs = command === "glossary" && !reflecting;
  if (command && (rest.length === 0 || takesArgs) && runCommand(turn, command, rest.join(" "))) return;

  const offered = currentChoices(state, turn.context, turn.now);
  // A reflection is free text, so only a button's exact label counts as pressing it.
  const matched = reflecting
    ? offered.find((choice) => fold(choice.label) === fold(text)) ?? null
    : matchTypedChoice(offered, text);
  if (matched) {
    const decoded = decodeCallback(matched.data);
    if (decoded && makeChoice(turn, decoded.choice)) return;
  }
  if (reflecting && text.length > 0) {
    reflect(turn, text);
    return;
  }
  if (reflecting) {
    turn.say(turn.t("input.reflectionAsText"));
    return;
  }
  if (isChoosingZone(turn) && text.length > 0) {
    setTimeZone(turn, text);
    return;
  }
  turn.emit({ type: "input_rejected", reason: "expected_choice" });
  turn.say(turn.t("input.useButtons"));
}

/** Returns the buttons of the current prompt, as the flows would present it now. */
export function currentChoices(state: EnrollmentState, context: EngineContext, now = 0): Choice[] {
  const dry = new Turn(state, context, now);
  presentCurrent(dry);
  const last = dry.messages.at(-1);
  return last?.choices?.flat() ?? [];
}

const keycapDigits = /^([1-9])\uFE0F?\u20E3$/u;

/**
 * Matches a typed reply to one of the buttons: its number (also as a keycap
 * emoji), its letter (a, b, c…) or its label.
 */
export function matchTypedChoice(choices: Choice[], typed: string): Choice | null {
  const text = typed.trim().replace(/[.)]$/, "");
  const digit = keycapDigits.exec(text)?.[1] ?? (/^\d{1,2}$/.test(text) ? text : null);
  if (digit) return choices[Number(digit) - 1] ?? null;
  if (/^[a-z]$/i.test(text)) return choices[text.toLowerCase().charCodeAt(0) - 97] ?? null;
  const folded = fold(text);
  return choices.find((choice) => fold(choice.label) === folded) ?? null;
}

function fold(text: string): string {
  return text.normalize("NFD").replace(/\p{M}/gu, "").toLocaleLowerCase().trim();
}
