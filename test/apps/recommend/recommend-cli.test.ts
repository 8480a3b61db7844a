/**
 * `embedkit recommend index|user|users|item|query|new-user` in-process on the
 * real default model and a temporary embedded store: the quick-start flow,
 * `--json`, `users --all --out` (JSON lines, written atomically), and user
 * errors with exit code 1 (unknown user naming the id, wrong column listing
 * the available ones).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../cli/run-cli.js";

const FIXTURES = join(import.meta.dirname, "../../fixtures/recommend");
let dir: string;
let store: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedkit-cli-recommend-"));
  store = ["--store", join(dir, "store"), "--quiet"];
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("embedkit recommend", () => {
  it("indexes a catalog with ratings, then recommends for users, items, queries and new users", async () => {
    const index = await runCli([
      "recommend",
      "index",
      "books",
      "--items",
      join(FIXTURES, "books.csv"),
      "--id-field",
      "id",
      "--text-fields",
      "title,description",
      "--metadata-fields",
      "year,genre",
      "--interactions",
      join(FIXTURES, "ratings.csv"),
      "--user-field",
      "user",
      "--item-field",
      "book",
      "--rating-field",
      "stars",
      "--time-field",
      "ts",
      "--rating-range",
      "1..5",
      "--half-life",
      "3650d",
      ...store,
    ]);
    expect(index.stderr).toBe("");
    expect(index.code).toBe(0);
    expect(index.stdout).toMatch(
      /Recommender "books" \(all-minilm-l6-v2\): 12 items \(12 embedded, 0 unchanged\), 6 users, 20 interactions/,
    );

    const user = await runCli(["recommend", "user", "books", "alice", "-k", "3", "--json", ...store]);
    expect(user.code).toBe(0);
    const list = JSON.parse(user.stdout) as { user: string; items: { id: string }[] };
    expect(list.user).toBe("alice");
    expect(list.items[0]?.id).toBe("b4");

    const item = await runCli(["recommend", "item", "books", "m1", "-k", "2", ...store]);
    expect(item.code).toBe(0);
    expect(item.stdout).toMatch(/item m1 \((hybrid|content)\):/);
    expect(item.stdout).toMatch(/ {2}1\. .*m[23] /);

    const query = await runCli([
      "recommend",
      "query",
      "books",
      "bread baking",
      "-k",
      "1",
      "--json",
      ...store,
    ]);
    expect((JSON.parse(query.stdout) as { items: { id: string }[] }).items[0]?.id).toBe("c2");

    const fresh = await runCli([
      "recommend",
      "new-user",
      "books",
      "--liked",
      "h1",
      "-k",
      "1",
      "--json",
      ...store,
    ]);
    expect((JSON.parse(fresh.stdout) as { items: { id: string }[] }).items[0]?.id).toBe("h2");

    const out = join(dir, "recs.jsonl");
    const users = await runCli(["recommend", "users", "books", "--all", "-k", "2", "--out", out, ...store]);
    expect(users.code).toBe(0);
    const lines = (await readFile(out, "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { user: string; items: { id: string; score: number }[] });
    expect(lines.map((line) => line.user)).toEqual(["alice", "bob", "carol", "dave", "erin", "frank"]);
    for (const line of lines) expect(line.items).toHaveLength(2);
  });

  it("exits 1 naming an unknown user, and lists the columns when one is wrong", async () => {
    const unknown = await runCli(["recommend", "user", "books", "zed", ...store]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Unknown user "zed"');
    const popular = await runCli([
      "recommend",
      "user",
      "books",
      "zed",
      "--fallback",
      "popular",
      "--json",
      ...store,
    ]);
    expect(popular.code).toBe(0);
    expect((JSON.parse(popular.stdout) as { source: string }).source).toBe("popular");
    const column = await runCli([
      "recommend",
      "index",
      "books",
      "--interactions",
      join(FIXTURES, "ratings.csv"),
      "--user-field",
      "userId",
      ...store,
    ]);
    expect(column.code).toBe(1);
    expect(column.stderr).toContain('--user-field "userId" is not a column');
    expect(column.stderr).toContain("Available columns: user, book, stars, ts");
  });

  it("documents its options with examples", async () => {
    const help = await runCli(["recommend", "user", "--help"]);
    for (const option of [
      "--diversity",
      "--filter",
      "--json",
      "--no-exclude-seen",
      "--fallback",
      "Examples:",
    ]) {
      expect(help.stdout).toContain(option);
    }
  });
});
