import { decodeCallback } from "../../src/engine/callback.js";
import { handleInbound } from "../../src/engine/engine.js";
import type { Choice, EngineContext, EngineEvent, EnrollmentState, Inbound, Outbound } from "../../src/engine/types.js";

/** A learner driven through the pure engine, keeping the state between inputs. */
export class EngineLearner {
  state: EnrollmentState | null = null;
  readonly transcript: Outbound[] = [];
  readonly events: EngineEvent[] = [];
  lastNotice: string | undefined;
  /** The learner's clock, in Unix ms; tests move it forward. */
  now: number;

  constructor(private readonly context: EngineContext, now = Date.UTC(2026, 2, 2, 9, 0)) {
    this.now = now;
  }

  send(inbound: Inbound): Outbound[] {
    const result = handleInbound(this.state, inbound, this.context, this.now);
    this.state = result.state;
    this.transcript.push(...result.messages);
    this.events.push(...result.events);
    this.lastNotice = result.notice;
    return result.messages;
  }

  text(text: string): Outbound[] {
    return this.send({ type: "text", text });
  }

  command(command: string, args = ""): Outbound[] {
    return this.send({ type: "command", command, args });
  }

  /** Sends /start, then picks a language, agrees to the data note and picks a role, as a new learner does. */
  joinAs(language: string, role: string): void {
    this.command("start");
    this.press(`lang.${language}`);
    this.press("consent.yes");
    this.press(`role.${role}`);
  }

  /** Returns the buttons of the last message that had any. */
  lastChoices(): Choice[] {
    for (let index = this.transcript.length - 1; index >= 0; index--) {
      const choices = this.transcript[index]?.choices;
      if (choices && choices.length > 0) return choices.flat();
    }
    return [];
  }

  /** Presses the button whose choice id matches (`next`, `o.b`, `lang.fr`…). */
  press(choice: string): Outbound[] {
    const button = this.lastChoices().find((candidate) => decodeCallback(candidate.data)?.choice === choice);
    if (!button) {
      const offered = this.lastChoices().map((candidate) => decodeCallback(candidate.data)?.choice).join(", ");
      throw new Error(`no button "${choice}" among [${offered}]`);
    }
    return this.send({ type: "choice", data: button.data });
  }

  eventsOf<T extends EngineEvent["type"]>(type: T): Extract<EngineEvent, { type: T }>[] {
    return this.events.filter((event): event is Extract<EngineEvent, { type: T }> => event.type === type);
  }
}
