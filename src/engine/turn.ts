import { encodeCallback } from "./callback.js";
import type {
  Choice,
  EngineContext,
  EngineEvent,
  EngineResult,
  EnrollmentState,
  Outbound,
} from "./types.js";

/**
 * One run of the engine over one input: it collects the state changes, the
 * events and the replies that the flows produce.
 */
export class Turn {
  readonly events: EngineEvent[] = [];
  readonly messages: Outbound[] = [];
  notice: string | undefined;

  /**
   * @param now Unix ms of the input, from the host's clock, so that flows
   * stay pure and tests can fix the time.
   */
  constructor(
    public state: EnrollmentState,
    readonly context: EngineContext,
    readonly now: number,
  ) {}

  /** The learner's language, or the course's source language before one is chosen. */
  get language(): string {
    return this.state.language ?? this.context.course.sourceLanguage;
  }

  t(key: string, values?: Record<string, unknown>): string {
    return this.context.t(this.language, key, values);
  }

  say(text: string, choices?: Choice[][], image?: Outbound["image"]): void {
    const message: Outbound = choices && choices.length > 0 ? { text, choices } : { text };
    if (image) message.image = image;
    this.messages.push(message);
  }

  emit(event: EngineEvent): void {
    this.events.push(event);
  }

  /** Makes a button for the current prompt. */
  button(choice: string, label: string): Choice {
    return { data: encodeCallback({ prompt: this.state.prompt, choice }), label };
  }

  /**
   * Changes the state and starts a new prompt, so that buttons sent before
   * the change become stale.
   */
  move(changes: Partial<EnrollmentState>): void {
    this.state = { ...this.state, ...changes, prompt: this.state.prompt + 1 };
  }

  result(): EngineResult {
    const result: EngineResult = {
      state: this.state,
      events: this.events,
      messages: this.messages,
    };
    if (this.notice !== undefined) result.notice = this.notice;
    return result;
  }
}
