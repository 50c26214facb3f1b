import type { GlossaryTerm } from "../src/content/model.js";
import type { Turn } from "../src/engine/turn.js";
import { escapeMarkdown } from "../src/render/markdown.js";

/** Maximum length of a reviewer comment, in characters. */
export const maxCommentCharacters = 2000;

function fold(text: string): string {
  return text.normalize("NFD").replace(/\p{M}/gu, "").replace(/[\u2018\u2019\u02BC]/g, "'").toLocaleLowerCase().trim();
}

/** Finds a glossary term by id, term or alias, ignoring case and accents; then by prefix. */
export function findTerm(terms: GlossaryTerm[], query: string): GlossaryTerm | null {
  const wanted = fold(query);
  const names = (term: GlossaryTerm) => [term.id, term.term, ...term.aliases].map(fold);
  return (
    terms.find((term) => names(term).includes(wanted)) ??
    terms.find((term) => names(term).some((name) => name.startsWith(wanted))) ??
    null
  );
}

/** Sends the list of glossary terms, or the definition of one. */
export function presentGlossary(turn: Turn, query: string): void {
  const terms = turn.context.course.glossary[turn.language] ?? [];
  if (terms.length === 0) return turn.say(turn.t("glossary.empty"));
  if (query.trim() === "") {
    const list = [...terms].sort((a, b) => a.term.localeCompare(b.term, turn.language)).map((term) => `• ${term.term}`);
    return turn.say(`**${turn.t("glossary.title")}**\n${list.join("\n")}\n\n${turn.t("glossary.howTo")}`);
  }
  const term = findTerm(terms, query);
  if (!term) return turn.say(turn.t("glossary.notFound", { query: escapeMarkdown(query.trim().slice(0, 60)) }));
  turn.say(`**${term.term}**\n${term.definition}\n\n_${turn.t("glossary.source", { source: term.source })}_`);
}

/** Sends the reading links of a module: the one numbered in `args`, else the learner's current one. */
export function presentResources(turn: Turn, args = ""): void {
  const { course } = turn.context;
  const asked = /^\d{1,2}$/.test(args.trim()) ? Number(args.trim()) - 1 : null;
  const current = course.order[turn.state.position]?.moduleIndex ?? 0;
  const moduleIndex = asked !== null && asked >= 0 && asked < course.modules.length ? asked : current;
  const module = course.modules[moduleIndex];
  const text = module?.text[turn.language];
  if (!text || text.readings.length === 0) return turn.say(turn.t("resources.none"));
  const lines = text.readings.map((reading) => `• [${reading.title}](${reading.url})`);
  turn.say(`**${turn.t("resources.title", { number: moduleIndex + 1, title: text.title })}**\n${lines.join("\n")}`);
}

/** Records a reviewer's comment on the current step. */
export function leaveComment(turn: Turn, text: string): void {
  const comment = text.trim();
  if (comment === "") return turn.say(turn.t("comment.howTo"));
  if (comment.length > maxCommentCharacters) {
    return turn.say(turn.t("comment.tooLong", { length: comment.length, max: maxCommentCharacters }));
  }
  const stepId = turn.context.course.order[turn.state.position]?.stepId ?? "";
  turn.emit({ type: "comment_left", stepId, text: comment });
  turn.say(turn.t("comment.saved", { stepId }));
}
