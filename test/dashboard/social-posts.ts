/**
 * The posts export the Social page tests upload: the 48 English texts of the planted
 * baggage/coffee corpus (test/apps/social/planted-corpus.ts) with an id, a time over four days
 * and an airline group, as a CSV file's text.
 */
import { englishCorpus } from "../apps/social/planted-corpus.js";

/** The CSV text (header `id,text,created,airline`) and the two planted topic words. */
export function plantedPostsCsv(): { csv: string; words: readonly [string, string]; posts: number } {
  const corpus = englishCorpus();
  const start = Date.parse("2026-03-01T08:00:00Z");
  const rows = corpus.texts.map((text, index) => {
    const created = new Date(start + index * 2 * 3600 * 1000).toISOString();
    const airline = index % 3 === 0 ? "Northwind" : "Southsea";
    return [`p${index + 1}`, `"${text.replaceAll('"', '""')}"`, created, airline].join(",");
  });
  return { csv: `id,text,created,airline\n${rows.join("\n")}\n`, words: corpus.words, posts: rows.length };
}
