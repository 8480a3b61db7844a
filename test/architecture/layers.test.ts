/**
 * The layer table of docs/ARCHITECTURE.md ("Layers (imports point downward
 * only)": folder → may import) checked against every import in src/, so a
 * back-edge fails CI. Every kind of import counts: `import`, `import type`,
 * `export … from` and dynamic `import()` — a type-only import still ties the
 * lower layer's API to the upper one, and a lazy import is still a dependency.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const SRC = join(ROOT, "src");
const HEADING = "## Layers (imports point downward only)";

/** One row of the table: `src/embed/media/` → area "embed/media", may import ["models", …]. */
interface LayerRow {
  readonly area: string;
  readonly mayImport: readonly string[];
}

function parseLayerTable(markdown: string): LayerRow[] {
  const start = markdown.indexOf(HEADING);
  if (start < 0) throw new Error(`docs/ARCHITECTURE.md has no "${HEADING}" section.`);
  const section = markdown.slice(start + HEADING.length).split(/\n## /)[0] as string;
  const rows: LayerRow[] = [];
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((cell) => cell.trim());
    // | `src/x/` | what lives there | may import |
    const folder = /^`src\/([^`]+?)(\/|\.ts)?`$/.exec(cells[1] ?? "");
    if (folder === null) continue;
    const allowed = (cells[3] ?? "")
      .replace(/\([^)]*\)/g, "") // "embed (types)" → "embed"
      .split(",")
      .map((word) => word.trim())
      .filter((word) => word !== "");
    rows.push({ area: folder[1] as string, mayImport: allowed.includes("nothing") ? [] : allowed });
  }
  return rows;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|cts)$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The most specific row a file belongs to ("embed/media" before "embed"); undefined when none. */
function areaOf(file: string, areas: readonly string[]): string | undefined {
  const path = relative(SRC, file)
    .split(sep)
    .join("/")
    .replace(/\.(ts|js)$/, "");
  let best: string | undefined;
  for (const area of areas) {
    if ((path === area || path.startsWith(`${area}/`)) && (best === undefined || area.length > best.length))
      best = area;
  }
  return best;
}

/** Relative module specifiers of a file: static, type-only, re-exports and dynamic imports. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  return info.importedFiles.map((entry) => entry.fileName).filter((name) => name.startsWith("."));
}

/**
 * Back-edges that exist today and are being removed; each names its file and
 * specifier. The test fails on any other violation, and also when a listed edge
 * is gone (so the list only shrinks).
 */
const KNOWN_BACK_EDGES: readonly string[] = [
  // embed → embed/media: `createEmbedder` recognises CLAP folders and builds CLAP's text tower.
  "src/embed/create-embedder.ts imports ./media/audio/clap-features.js",
  "src/embed/create-embedder.ts imports ./media/audio/clap-embedder.js",
];

const rows = parseLayerTable(readFileSync(join(ROOT, "docs/ARCHITECTURE.md"), "utf8"));
const areas = rows.map((row) => row.area);
const allowedOf = new Map(rows.map((row) => [row.area, row.mayImport]));

function mayImport(from: string, to: string): boolean {
  if (from === to) return true;
  const allowed = allowedOf.get(from) ?? [];
  if (allowed.includes("everything")) return true;
  // Naming an area covers its sub-areas ("embed" lets a file import embed/media).
  return allowed.some((name) => to === name || to.startsWith(`${name}/`));
}

describe("docs/ARCHITECTURE.md layer table", () => {
  it("parses into rows that name only areas of the table", () => {
    expect(areas).toEqual(
      expect.arrayContaining(["errors", "vectors", "internal", "models", "embed", "cli"]),
    );
    const known = new Set([...areas, "everything"]);
    for (const row of rows)
      for (const name of row.mayImport) expect(known, `${row.area} → ${name}`).toContain(name);
  });

  it("has a row for every source file (src/index.ts is the public surface above all rows)", () => {
    const uncovered = sourceFiles(SRC)
      .filter((file) => file !== join(SRC, "index.ts") && areaOf(file, areas) === undefined)
      .map((file) => relative(ROOT, file));
    expect(uncovered).toEqual([]);
  });

  it("matches every import in src/: no back-edges", () => {
    const violations: string[] = [];
    for (const file of sourceFiles(SRC)) {
      if (file === join(SRC, "index.ts")) continue;
      const from = areaOf(file, areas) as string;
      for (const specifier of importsOf(file)) {
        const target = resolve(dirname(file), specifier);
        if (!target.startsWith(`${SRC}${sep}`)) {
          violations.push(`${relative(ROOT, file)} imports ${specifier}, outside src/`);
          continue;
        }
        const to = target === join(SRC, "index.js") ? "index" : areaOf(target, areas);
        if (to === undefined || !mayImport(from, to))
          violations.push(`${relative(ROOT, file)} imports ${specifier}`);
      }
    }
    expect(violations.filter((edge) => !KNOWN_BACK_EDGES.includes(edge))).toEqual([]);
    expect(
      KNOWN_BACK_EDGES.filter((edge) => !violations.includes(edge)),
      "fixed back-edges: remove them from KNOWN_BACK_EDGES",
    ).toEqual([]);
  });
});
