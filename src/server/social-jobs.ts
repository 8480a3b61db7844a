/**
 * @module server/social-jobs
 * The dashboard's Social page on the server (docs/DASHBOARD.md): a CSV/TSV/JSONL
 * export uploaded from the page, its columns detected, and one
 * `analyzeSocialPosts` run at a time (the same analysis as `embedkit social
 * analyze`) whose progress the page polls and whose result it draws from the
 * report's own data (topics.json and summary.json):
 *
 * - `POST /v1/dashboard/social/uploads` `{filename, content}` → `{upload, filename, format, columns, rows}`
 * - `GET  /v1/dashboard/social/files` → the CSV/TSV/JSONL files of the server's `--reports` folder
 * - `POST /v1/dashboard/social/files` `{path}` → one of them taken as an upload (same answer, same checks)
 * - `POST /v1/dashboard/social/run` `{upload, text_field, time_field?, group_field?}` → 202; 409 while a run is active
 * - `GET  /v1/dashboard/social/run` → `{status: "idle" | "running" | "done" | "failed", stage, progress, error, result}`
 *
 * Every limit (file size, rows, extension, text, known columns) is checked before
 * anything is written or embedded; a file chosen on the server follows the reports
 * folder's path rules (src/server/reports-folder.ts) and its size is checked before
 * it is read. Uploads live in a private temporary folder (the last few kept),
 * removed when the server closes.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { analyzeSocialPosts, SOCIAL_STAGES, type SocialStage } from "../apps/social/index.js";
import { summaryJson, topicsJson } from "../apps/social/outputs.js";
import type { Embedder } from "../embed/embedder.js";
import { EmbedkitError } from "../errors.js";
import { readFileText } from "../internal/read-file.js";
import { parseBody } from "./collection-routes.js";
import { HttpError } from "./http-error.js";
import { listReportsFolder, resolveInReportsFolder } from "./reports-folder.js";

/** Limits of the Social page. */
export const SOCIAL_PAGE_LIMITS = Object.freeze({
  /** Largest uploaded file (characters of its text). */
  maxUploadChars: 2 * 1024 * 1024,
  /** Most lines in an upload (posts plus the header). */
  maxRows: 20_000,
  /** Uploads kept (older ones are deleted). */
  keptUploads: 8,
  /** Most columns listed. */
  maxColumns: 200,
  /** Most server files listed (from the reports folder). */
  maxFiles: 500,
});

const FORMATS: Readonly<Record<string, "csv" | "tsv" | "jsonl">> = {
  ".csv": "csv",
  ".tsv": "tsv",
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
};

const UPLOAD_BODY = z.strictObject({
  filename: z.string().min(1).max(200),
  content: z.string().max(SOCIAL_PAGE_LIMITS.maxUploadChars),
});
const CHOOSE_BODY = z.strictObject({ path: z.string().min(1).max(300) });
const FIELD = z.string().min(1).max(200);
const RUN_BODY = z.strictObject({
  upload: z.string().uuid(),
  text_field: FIELD,
  time_field: FIELD.optional(),
  group_field: FIELD.optional(),
});

/** What the social routes need from the server. */
export interface SocialJobsContext {
  /** Opens the embedding model the analysis asks for (through the server's model store). */
  readonly openEmbedder: (model: string) => Promise<Embedder>;
  /** The server's `--reports` folder, whose CSV/TSV/JSONL files the page can choose; none when undefined. */
  readonly reportsDir?: string | undefined;
}

/** The format of an export by its name's extension, undefined for another kind of file. */
function formatOf(filename: string): Upload["format"] | undefined {
  return FORMATS[/\.[A-Za-z]+$/.exec(filename)?.[0]?.toLowerCase() ?? ""];
}

interface Upload {
  readonly id: string;
  readonly filename: string;
  readonly path: string;
  readonly format: "csv" | "tsv" | "jsonl";
  readonly columns: readonly string[];
}

interface Run {
  readonly id: string;
  readonly filename: string;
  status: "running" | "done" | "failed";
  stage: SocialStage;
  progress: number;
  error: string | null;
  result: unknown;
  readonly controller: AbortController;
}

function invalid(message: string, param: string): EmbedkitError {
  return new EmbedkitError("INVALID_INPUT", message, { details: { param } });
}

/** The columns of an export: the CSV/TSV header, or the keys of the JSONL objects (first 100 lines). */
function detectColumns(filename: string, format: Upload["format"], content: string): string[] {
  const text = content.replace(/^\uFEFF/, "");
  let columns: string[] = [];
  if (format === "jsonl") {
    const seen = new Set<string>();
    const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "");
    for (const [index, line] of lines.slice(0, 100).entries()) {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw invalid(
          `${filename}: line ${index + 1} is not JSON; a .jsonl file holds one JSON object a line.`,
          "content",
        );
      }
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw invalid(`${filename}: line ${index + 1} is not a JSON object.`, "content");
      }
      for (const key of Object.keys(value)) seen.add(key);
    }
    columns = [...seen];
  } else {
    let header: unknown[] = [];
    try {
      header =
        (parse(text, { delimiter: format === "tsv" ? "\t" : ",", to_line: 1 }) as unknown[][])[0] ?? [];
    } catch (error) {
      throw invalid(
        `${filename}: the header row is not valid ${format.toUpperCase()} (${(error as Error).message}).`,
        "content",
      );
    }
    columns = header.map((name) => String(name).trim());
  }
  if (columns.length === 0 || columns.every((name) => name === "")) {
    throw invalid(
      `${filename} has no columns: expected a header row (CSV/TSV) or JSON objects (JSONL).`,
      "content",
    );
  }
  if (format !== "jsonl" && columns.length < 2) {
    throw invalid(
      `${filename}: the header has one column (${JSON.stringify(columns[0])}); ` +
        `expected a ${format.toUpperCase()} file with a text column and others (time, group…).`,
      "content",
    );
  }
  return columns.slice(0, SOCIAL_PAGE_LIMITS.maxColumns);
}

function fieldError(upload: Upload, option: string, field: string): EmbedkitError {
  return invalid(
    `${upload.filename} has no column ${JSON.stringify(field)} for ${option}; its columns are ${upload.columns
      .map((name) => JSON.stringify(name))
      .join(", ")}.`,
    option,
  );
}

/**
 * Register the Social page's routes (called by `registerDashboardRoutes`).
 * @example
 * ```ts
 * registerSocialJobs(app, { openEmbedder: (model) => createEmbedder({ model }) });
 * ```
 */
export function registerSocialJobs(app: FastifyInstance, context: SocialJobsContext): void {
  let folder: Promise<string> | undefined;
  const uploads: Upload[] = [];
  let run: Run | undefined;
  const uploadFolder = () => {
    folder ??= mkdtemp(join(tmpdir(), "embedkit-social-uploads-"));
    return folder;
  };

  app.addHook("onClose", async () => {
    run?.controller.abort();
    if (folder !== undefined) await rm(await folder, { recursive: true, force: true });
  });

  /** Check an export (type, text, lines, columns) and keep it as an upload; the answer of both upload routes. */
  const accept = async (filename: string, content: string) => {
    const format = formatOf(filename);
    if (format === undefined) {
      throw invalid(
        `${filename} is not a CSV, TSV or JSONL file: the Social page analyses exports ending in .csv, .tsv or .jsonl.`,
        "filename",
      );
    }
    if (content.includes("\u0000")) {
      throw invalid(`${filename} is not a text file (it holds NUL bytes).`, "content");
    }
    let rows = 0;
    for (let at = content.indexOf("\n"); at !== -1; at = content.indexOf("\n", at + 1)) rows++;
    if (!content.endsWith("\n") && content.length > 0) rows++;
    if (rows > SOCIAL_PAGE_LIMITS.maxRows) {
      throw invalid(
        `${filename} has ${rows} lines; the Social page takes at most ${SOCIAL_PAGE_LIMITS.maxRows} ` +
          "(use `embedkit social analyze` for larger exports).",
        "content",
      );
    }
    const columns = detectColumns(filename, format, content);
    const id = randomUUID();
    const path = join(await uploadFolder(), `${id}.${format}`);
    await writeFile(path, content, { mode: 0o600 });
    uploads.push({ id, filename, path, format, columns });
    while (uploads.length > SOCIAL_PAGE_LIMITS.keptUploads) {
      const old = uploads.shift() as Upload;
      await rm(old.path, { force: true });
    }
    return {
      object: "social.upload",
      upload: id,
      filename,
      format,
      columns,
      rows: format === "jsonl" ? rows : Math.max(0, rows - 1),
    };
  };

  app.post("/v1/dashboard/social/uploads", async (request, reply) => {
    const body = parseBody(
      UPLOAD_BODY,
      request.body,
      '{"filename": "posts.csv", "content": "text,time\\n…"}',
      () => true,
    );
    return reply.code(201).send(await accept(body.filename, body.content));
  });

  app.get("/v1/dashboard/social/files", async () => {
    const root = context.reportsDir;
    const files =
      root === undefined
        ? []
        : await listReportsFolder(root, (name) => formatOf(name) !== undefined, SOCIAL_PAGE_LIMITS.maxFiles);
    return {
      object: "list",
      reports_dir: root !== undefined,
      data: files.map((file) => ({
        path: file.path,
        format: formatOf(file.path),
        bytes: file.bytes,
        modified_at: file.modifiedAt,
      })),
    };
  });

  app.post("/v1/dashboard/social/files", async (request, reply) => {
    const body = parseBody(CHOOSE_BODY, request.body, '{"path": "exports/posts.csv"}', () => true);
    if (context.reportsDir === undefined) {
      throw new EmbedkitError(
        "FILE_NOT_FOUND",
        "This server has no files to choose: start it with --reports <folder> holding the CSV/TSV/JSONL exports.",
        { details: { param: "path" } },
      );
    }
    if (formatOf(body.path) === undefined) {
      throw invalid(
        `${body.path} is not a CSV, TSV or JSONL file: the Social page analyses exports ending in .csv, .tsv or .jsonl.`,
        "path",
      );
    }
    const file = await resolveInReportsFolder(context.reportsDir, body.path, "posts file", "path");
    // The size is checked before the file is read (readFileText stats the open file first).
    const content = await readFileText(file, {
      what: "posts file",
      maxBytes: SOCIAL_PAGE_LIMITS.maxUploadChars,
    }).catch((error: unknown) => {
      const details = (error as EmbedkitError).details as { size?: number } | undefined;
      if (details?.size !== undefined) {
        throw invalid(
          `${body.path} is ${details.size} bytes; the Social page takes files up to ${SOCIAL_PAGE_LIMITS.maxUploadChars} bytes ` +
            "(use `embedkit social analyze` for larger exports).",
          "path",
        );
      }
      throw new EmbedkitError("FILE_NOT_FOUND", `Cannot read ${body.path} in the reports folder.`, {
        details: { param: "path" },
      });
    });
    return reply.code(201).send(await accept(body.path, content));
  });

  app.post("/v1/dashboard/social/run", async (request, reply) => {
    const body = parseBody(
      RUN_BODY,
      request.body,
      '{"upload": "<id>", "text_field": "text", "time_field": "time"}',
      () => true,
    );
    if (run?.status === "running") {
      throw new HttpError({
        statusCode: 409,
        code: "social_run_in_progress",
        message: `An analysis of ${run.filename} is running (${run.stage}); wait for it to finish before starting another.`,
      });
    }
    const upload = uploads.find((entry) => entry.id === body.upload);
    if (upload === undefined) {
      throw invalid(
        "Unknown 'upload': upload the file again (the server keeps the last few uploads).",
        "upload",
      );
    }
    const fields: [string, string | undefined][] = [
      ["text_field", body.text_field],
      ["time_field", body.time_field],
      ["group_field", body.group_field],
    ];
    for (const [option, field] of fields) {
      if (field !== undefined && !upload.columns.includes(field)) throw fieldError(upload, option, field);
    }
    const current: Run = {
      id: randomUUID(),
      filename: upload.filename,
      status: "running",
      stage: "read",
      progress: 0,
      error: null,
      result: null,
      controller: new AbortController(),
    };
    run = current;
    void analyzeSocialPosts(upload.path, {
      textField: body.text_field,
      ...(body.time_field === undefined ? {} : { timeField: body.time_field }),
      ...(body.group_field === undefined ? {} : { groupField: body.group_field }),
      format: upload.format,
      cacheDir: false,
      openEmbedder: context.openEmbedder,
      signal: current.controller.signal,
      onProgress: (stage, done, total) => {
        current.stage = stage;
        const index = SOCIAL_STAGES.indexOf(stage);
        current.progress = (index + (total > 0 ? done / total : 0)) / SOCIAL_STAGES.length;
      },
    }).then(
      (analysis) => {
        current.result = {
          filename: upload.filename,
          sentiment_labels: analysis.sentimentLabels,
          buckets: analysis.trends?.buckets ?? [],
          topics: topicsJson(analysis),
          summary: summaryJson(analysis),
        };
        current.progress = 1;
        current.status = "done";
      },
      (error: unknown) => {
        // The analysis' message names the file by its temporary path; the page knows it by its name.
        current.error = (error as Error).message.replaceAll(upload.path, upload.filename);
        current.status = "failed";
      },
    );
    return reply.code(202).send(runObject(current));
  });

  app.get("/v1/dashboard/social/run", async () =>
    run === undefined
      ? { object: "social.run", status: "idle", stage: null, progress: 0, error: null, result: null }
      : runObject(run),
  );
}

function runObject(run: Run): Record<string, unknown> {
  return {
    object: "social.run",
    id: run.id,
    filename: run.filename,
    status: run.status,
    stage: run.stage,
    progress: Math.round(run.progress * 1000) / 1000,
    error: run.error,
    result: run.result,
  };
}
