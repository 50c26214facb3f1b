import { z } from "zod";

/** Limits of the chat platforms that course text must fit. */
export const limits = {
  /** Telegram's maximum message length; WhatsApp allows more. */
  messageCharacters: 4096,
  /** Telegram's and WhatsApp's maximum caption length for an image. */
  captionCharacters: 1024,
  /** Telegram clients cut longer button labels. */
  buttonLabelCharacters: 64,
  /** Telegram's maximum callback data size. */
  callbackDataBytes: 64,
  idCharacters: 24,
} as const;

const id = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]*$/,
    "use lowercase letters, digits and hyphens, starting with a letter or digit",
  )
  .max(limits.idCharacters, `use at most ${limits.idCharacters} characters`);

const text = z.string().trim().min(1, "must not be empty");

export const manifestSchema = z.strictObject({
  id,
  version: z.union([z.string(), z.number()]).transform(String),
  sourceLanguage: z.string().regex(/^[a-z]{2}$/, "use a two-letter code"),
  languages: z
    .array(z.string().regex(/^[a-z]{2}$/, "use two-letter codes"))
    .min(1),
  passMark: z.number().min(0).max(100),
  maxLessonMinutes: z.number().positive().default(4),
  wordsPerMinute: z.number().positive().default(150),
  title: z.record(z.string(), text),
  modules: z
    .array(
      z.strictObject({
        id,
        minutesPerWeek: z.number().positive(),
        steps: z.array(id).min(1),
      }),
    )
    .min(1),
});

export const moduleTextSchema = z.strictObject({
  title: text,
  summary: text,
  readings: z
    .array(z.strictObject({ title: text, url: z.string() }))
    .default([]),
});

const option = z.strictObject({
  id,
  label: text,
  feedback: text,
  correct: z.boolean().default(false),
  best: z.boolean().default(false),
});

export const stepFrontMatterSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    id,
    kind: z.literal("lesson"),
    title: text,
  }),
  z.strictObject({
    id,
    kind: z.literal("quiz"),
    title: z.string().default(""),
    options: z.array(option),
    explanation: text,
  }),
  z.strictObject({
    id,
    kind: z.literal("scenario"),
    title: text,
    contentNote: z.string().trim().min(1).nullable().default(null),
    decision: text,
    options: z.array(option),
  }),
  z.strictObject({
    id,
    kind: z.literal("reflection"),
    title: text,
  }),
]);

/** Every field name that the front matter of some kind of step may have. */
export const stepFieldNames = [...new Set(stepFrontMatterSchema.options.flatMap((kind) => Object.keys(kind.shape)))];

export type StepFrontMatter = z.infer<typeof stepFrontMatterSchema>;

export const glossarySchema = z.strictObject({
  terms: z.array(
    z.strictObject({
      id,
      term: text,
      aliases: z.array(z.string()).default([]),
      definition: text,
      source: text,
    }),
  ),
});
