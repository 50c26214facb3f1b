import type { Course } from "../content/model.js";
import type { Pace, ScheduleSettings } from "./schedule.js";

/** The messaging channels a learner can use. */
export type Channel = "telegram" | "whatsapp" | "web";

/** A message from a learner, normalised from any channel. */
export type Inbound =
  | { type: "text"; text: string }
  | { type: "command"; command: string; args: string }
  /** A button press, carrying the button's callback data. */
  | { type: "choice"; data: string }
  | { type: "unsupported"; media: string }
  /** The scheduler found the held lesson due. */
  | { type: "release" }
  /** The scheduler found the learner silent for long enough to nudge. */
  | { type: "remind" };

/** A button: the callback data it sends back and its label. */
export interface Choice {
  data: string;
  label: string;
}

/**
 * A message to send, independent of the channel. `text` uses a small Markdown
 * subset (bold, italic, links); `choices` are rows of buttons.
 */
export interface Outbound {
  text: string;
  choices?: Choice[][];
  /** An image sent with the text as its caption; `alt` describes it for the text fallback. */
  image?: { url: string; alt: string };
}

/** The enrollment's stage: an onboarding question, the course, its end, or left. */
export type Stage = "language" | "consent" | "role" | "pace" | "hour" | "zone" | "course" | "finished" | "left";

/**
 * What the learner is looking at within the current step:
 * - `reading`: message `part` of a lesson or a scenario episode;
 * - `note`: the content note before a scenario episode;
 * - `question`: a quiz question or a scenario decision, awaiting an option;
 * - `reflection`: the reflection prompt, awaiting free text;
 * - `feedback`: feedback on the chosen option or the reflection, awaiting Next;
 * - `module_end`: the summary after the last step of a module;
 * - `waiting`: the step is held until its release time, by the learner's pace.
 */
export type Phase = "reading" | "note" | "question" | "reflection" | "feedback" | "module_end" | "waiting";

/**
 * Menus that a command opens in front of the current step. `region.<id>`
 * lists the cities of one region of the time-zone choice.
 */
export type Menu = "language" | "settings" | "pace" | "hour" | "zone" | `region.${string}`;

export interface Answer {
  optionId: string;
  correct: boolean;
}

/** The state of one learner's enrollment, as the engine reads and writes it. */
export interface EnrollmentState {
  language: string | null;
  role: string | null;
  stage: Stage;
  /** Index into the course order. */
  position: number;
  part: number;
  phase: Phase;
  /** A menu shown in front of the step, such as the language choice. */
  menu: Menu | null;
  /** Number of the current prompt; a button from any other prompt is stale. */
  prompt: number;
  /** First answer to each quiz question and scenario decision, by step id. */
  answers: Record<string, Answer>;
  /** Scenario episodes the learner chose to skip. */
  skipped: string[];
  pace: Pace | null;
  /** Preferred local hour for releases, 0-23. */
  hour: number | null;
  /** IANA time zone, such as `Africa/Nairobi`. */
  timeZone: string | null;
  /** Set by /pause: no releases and no reminders until /resume. */
  paused: boolean;
  /** Set by STOP or when the platform reports the learner unreachable: nothing is sent until /start. */
  stopped: boolean;
  /** Set after the last reminder went unanswered: no more releases or reminders until the learner writes. */
  dormant: boolean;
  /** Unix ms from which the next held lesson may be released; null when the pace holds nothing. */
  nextReleaseAt: number | null;
  /** Unix ms of the last release point the learner reached, from which the pace counts. */
  lastReleaseAt: number | null;
  remindersSent: number;
  /** Unix ms of the learner's last message or of the last release, from which reminders count. */
  idleSince: number | null;
}

/** Facts the engine reports; the host stores them and may log them. */
export type EngineEvent =
  | { type: "enrollment_started" }
  | { type: "language_set"; language: string }
  | { type: "consent_given" }
  | { type: "consent_declined" }
  | { type: "role_set"; role: string }
  | { type: "step_started"; stepId: string }
  | { type: "answer_graded"; stepId: string; optionId: string; correct: boolean }
  | { type: "decision_made"; stepId: string; optionId: string }
  | { type: "scenario_skipped"; stepId: string }
  | { type: "reflection_saved"; stepId: string; text: string }
  | { type: "reflection_skipped"; stepId: string }
  | { type: "module_completed"; moduleId: string; correct: number; questions: number; passed: boolean }
  | { type: "course_completed" }
  | { type: "comment_left"; stepId: string; text: string }
  | { type: "schedule_set"; pace: Pace; hour: number | null; timeZone: string | null }
  | { type: "lesson_held"; stepId: string; until: number }
  | { type: "lesson_released"; stepId: string }
  | { type: "reminder_sent"; count: number }
  | { type: "enrollment_dormant" }
  | { type: "enrollment_reactivated" }
  | { type: "paused" }
  | { type: "resumed" }
  | { type: "sends_stopped" }
  | { type: "sends_restarted" }
  | { type: "input_ignored"; reason: string }
  | { type: "stale_choice"; data: string }
  | { type: "input_rejected"; reason: string };

/** Looks up a localised string; `values` fill the placeholders. */
export type Translate = (
  language: string,
  key: string,
  values?: Record<string, unknown>,
) => string;

/** The engine's inputs other than the state and the message: course, strings and settings. */
export interface EngineContext {
  course: Course;
  t: Translate;
  /** Languages the learner may choose, with their names in that language. */
  languageNames: Record<string, string>;
  /** Role ids offered at onboarding, in order. */
  roles: readonly string[];
  /** Plain words that run a command, lowercased, in every language: "aide" → "help". */
  commandWords: ReadonlyMap<string, string>;
  schedule: ScheduleSettings;
}

/** The outcome of one inbound message: the new state, the events and the replies. */
export interface EngineResult {
  state: EnrollmentState;
  events: EngineEvent[];
  messages: Outbound[];
  /** A short notice for the button press itself, shown by Telegram's answerCallbackQuery. */
  notice?: string;
}
