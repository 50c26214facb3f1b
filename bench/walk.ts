import { decodeCallback } from "../src/engine/callback.js";
import type { Choice, EngineResult, EnrollmentState, Inbound } from "../src/engine/types.js";

/** Roles the benchmark learners choose in turn, each an id from flows/roles.ts. */
const roles = ["teacher", "lawyer", "health-worker", "social-worker"];

/** Time zones the benchmark learners type at onboarding, in turn. */
const zones = ["Europe/Madrid", "Africa/Nairobi", "Asia/Kolkata", "America/Sao_Paulo"];

/**
 * The inputs of one learner who onboards in English and then walks module 1:
 * Next on lessons, the first option of each question, a typed reflection.
 * Each input is chosen from the engine's last result, the way a person reads
 * the last message and taps one of its buttons.
 */
export class ModuleOneWalk {
  private state: EnrollmentState | null = null;
  private choices: Choice[] = [];
  private sent = 0;
  private readonly onboarding: string[];

  /** `index` picks the role and the time zone. A daily pace also picks 09:00 as the release hour. */
  constructor(
    private readonly index: number,
    pace: "self" | "daily" = "self",
  ) {
    this.onboarding = ["lang.en", "consent.yes", `role.${roles[index % roles.length]}`, `pace.${pace}`];
    if (pace === "daily") this.onboarding.push("hour.9");
  }

  /** Returns the next input, or null once the learner has reached the end of module 1. */
  next(): Inbound | null {
    const position = this.sent++;
    if (position === 0) return { type: "command", command: "start", args: "" };
    const button = this.onboarding[position - 1];
    if (button !== undefined) return this.press(button);
    if (position === this.onboarding.length + 1) return { type: "text", text: zones[this.index % zones.length] ?? "Etc/UTC" };
    switch (this.state?.phase) {
      case "module_end":
        return null;
      case "question": {
        const option = this.choices.find((choice) => decodeCallback(choice.data)?.choice.startsWith("o."));
        if (!option) throw new Error(`learner ${this.index}: a question without options`);
        return { type: "choice", data: option.data };
      }
      case "reflection":
        return { type: "text", text: "I would ask the child what they need first, and explain what happens next." };
      default:
        return this.press("next");
    }
  }

  /** Keeps the new state and the buttons of the newest message that has any. */
  observe(result: EngineResult): void {
    this.state = result.state;
    for (const message of result.messages) {
      if (message.choices && message.choices.length > 0) this.choices = message.choices.flat();
    }
  }

  private press(choice: string): Inbound {
    const button = this.choices.find((candidate) => decodeCallback(candidate.data)?.choice === choice);
    if (!button) {
      const offered = this.choices.map((candidate) => decodeCallback(candidate.data)?.choice).join(", ");
      throw new Error(`learner ${this.index}: no button "${choice}" among [${offered}]`);
    }
    return { type: "choice", data: button.data };
  }
}

/**
 * Runs `learners` walks in rounds, one input per learner per round, so that
 * consecutive inputs come from different learners. `step` processes one
 * input and returns the engine's result.
 */
export function walkInRounds(learners: number, step: (learner: number, inbound: Inbound) => EngineResult): number {
  const walks = Array.from({ length: learners }, (_, index) => new ModuleOneWalk(index));
  let active = walks.map((_, index) => index);
  let inputs = 0;
  while (active.length > 0) {
    const stillWalking: number[] = [];
    for (const learner of active) {
      const walk = walks[learner];
      const inbound = walk?.next();
      if (!walk || !inbound) continue;
      walk.observe(step(learner, inbound));
      inputs++;
      stillWalking.push(learner);
    }
    active = stillWalking;
  }
  return inputs;
}
