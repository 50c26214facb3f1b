/**
 * Callback data of a chat button: the prompt number it belongs to and the
 * choice it makes, as `<prompt>:<choice>`. The prompt number lets the engine
 * recognise a button pressed on an old message.
 */
export interface CallbackData {
  prompt: number;
  choice: string;
}

/** The largest prompt number the format is sized for (ten digits). */
export const maxPromptNumber = 9_999_999_999;

export function encodeCallback(data: CallbackData): string {
  return `${data.prompt}:${data.choice}`;
}

/** Decodes callback data; returns null for data this service did not make. */
export function decodeCallback(raw: string): CallbackData | null {
  const match = /^(\d{1,10}):(.+)$/.exec(raw);
  if (!match) return null;
  return { prompt: Number(match[1]), choice: match[2] ?? "" };
}

/** Returns the choice id of a quiz or decision option. */
export function optionChoice(optionId: string): string {
  return `o.${optionId}`;
}
