/**
 * Collection view: paged item table with metadata, search (text with k and a metadata filter, or
 * an example file for image/audio collections, embedded by the collection's model), "more like
 * this" on any row, and deleting items after a confirmation.
 */
import { useState } from "preact/hooks";
import { ApiError, api } from "../api";
import type { PageProps } from "../pages";
import {
  CollectionPicker,
  ErrorBox,
  formatScore,
  KInput,
  THUMBNAIL_FIELD,
  Thumbnail,
  useLoad,
  useOverview,
} from "../shared";

interface Item {
  readonly id: string;
  readonly text: string | null;
  readonly metadata: Record<string, unknown>;
  /** The dashboard routes give an image item's checked thumbnail here (null when none). */
  readonly thumbnail?: string | null;
}
interface Hit extends Item {
  readonly score: number;
}
interface ItemPage {
  readonly count: number;
  readonly data: readonly Item[];
  readonly next: string | null;
}

const PAGE_SIZE = 25;
/** Largest example file (its base64 in JSON must stay under the server's default 8 MiB body limit). */
const MAX_EXAMPLE_MIB = 5;
/** File types offered by the example picker per modality (a hint to the browser; the server checks the bytes). */
const ACCEPT: Readonly<Record<string, string>> = {
  audio: "audio/*,.wav,.mp3,.flac,.ogg",
  image: "image/*",
  video: "video/*",
};

/** Metadata as `key=value` text; a thumbnail is shown as an image, not as its data URL. */
function metadataText(metadata: Record<string, unknown>): string {
  return Object.entries(metadata)
    .filter(([key]) => key !== THUMBNAIL_FIELD)
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join(", ");
}

function goneMessage(name: string, error: string | undefined, status: number): string | undefined {
  if (error === undefined) return undefined;
  return status === 404 ? `Collection "${name}" does not exist (it may have been deleted): ${error}` : error;
}

function ItemTable({
  name,
  onSimilar,
  onDeleted,
}: {
  name: string;
  onSimilar: (id: string) => void;
  onDeleted: () => void;
}) {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const after = cursors.at(-1);
  const page = useLoad(
    (signal) =>
      api<ItemPage>(
        `/v1/dashboard/collections/${encodeURIComponent(name)}/items?limit=${PAGE_SIZE}${
          after === undefined ? "" : `&after=${encodeURIComponent(after)}`
        }`,
        { signal },
      ),
    [name, after],
  );
  const [error, setError] = useState<string | undefined>(undefined);
  const remove = async (id: string) => {
    if (!confirm(`Delete item "${id}" from ${name}? This cannot be undone.`)) return;
    try {
      await api(`/v1/dashboard/collections/${encodeURIComponent(name)}/items/delete`, {
        body: { ids: [id] },
      });
      setError(undefined);
      page.reload();
      onDeleted();
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  return (
    <section>
      <h2>Items {page.data !== undefined && <span class="hint">({page.data.count} in total)</span>}</h2>
      <ErrorBox message={goneMessage(name, page.error, page.status) ?? error} />
      {page.data !== undefined && page.data.count === 0 && (
        <p class="hint" data-testid="empty">
          This collection is empty. Add documents with `embedkit index` or POST /v1/collections/{name}
          /documents.
        </p>
      )}
      <table data-testid="items">
        <thead>
          <tr>
            <th>id</th>
            <th>text</th>
            <th>metadata</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(page.data?.data ?? []).map((item) => (
            <tr key={item.id}>
              <td>{item.id}</td>
              <td>
                <Thumbnail src={item.thumbnail} alt="" />
                {item.text ?? ""}
              </td>
              <td>{metadataText(item.metadata)}</td>
              <td>
                <button type="button" onClick={() => onSimilar(item.id)}>
                  more like this
                </button>{" "}
                <button type="button" onClick={() => void remove(item.id)}>
                  delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="row">
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          previous
        </button>
        <button
          type="button"
          disabled={page.data?.next == null}
          onClick={() => setCursors([...cursors, page.data?.next ?? undefined])}
        >
          next
        </button>
      </div>
    </section>
  );
}

function Results({ title, hits }: { title: string; hits: readonly Hit[] }) {
  return (
    <section>
      <h2>{title}</h2>
      {hits.length === 0 && <p class="hint">No results.</p>}
      <table data-testid="results">
        <thead>
          <tr>
            <th class="num">score</th>
            <th>id</th>
            <th>text</th>
            <th>metadata</th>
          </tr>
        </thead>
        <tbody>
          {hits.map((hit) => (
            <tr key={hit.id}>
              <td class="num">{formatScore(hit.score)}</td>
              <td>{hit.id}</td>
              <td>
                <Thumbnail src={hit.thumbnail ?? hit.metadata[THUMBNAIL_FIELD]} alt="" />
                {hit.text ?? ""}
              </td>
              <td>{metadataText(hit.metadata)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** Read a file as a data URL (for media collections: embedded by the collection's model). */
function readAsDataUrl(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error("The file could not be read."));
    reader.readAsDataURL(file);
  });
}

export function CollectionPage({ params }: PageProps) {
  const name = params[0];
  const overview = useOverview();
  const [query, setQuery] = useState("");
  const [k, setK] = useState(10);
  const [filter, setFilter] = useState("");
  const [results, setResults] = useState<{ title: string; hits: readonly Hit[] } | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const collection = overview.data?.collections.find((entry) => entry.name === name);
  const run = async (title: string, work: () => Promise<{ data: readonly Hit[] }>) => {
    setBusy(true);
    try {
      const answer = await work();
      setResults({ title, hits: answer.data });
      setError(undefined);
    } catch (failure) {
      setResults(undefined);
      const status = failure instanceof ApiError ? failure.status : 0;
      setError(goneMessage(name ?? "", (failure as Error).message, status));
    } finally {
      setBusy(false);
    }
  };
  const search = (event: Event) => {
    event.preventDefault();
    if (name === undefined || query.trim() === "") return;
    void run(`Results for "${query}"`, () =>
      api(`/v1/collections/${encodeURIComponent(name)}/query`, {
        body: { query, k, ...(filter.trim() === "" ? {} : { filter }) },
      }),
    );
  };
  const searchByFile = (file: File) => {
    if (name === undefined || collection === undefined) return;
    // Limit before work: a larger file is refused here, before it is read into memory or sent.
    if (file.size > MAX_EXAMPLE_MIB * 1024 * 1024) {
      setResults(undefined);
      setError(
        `${file.name} is ${(file.size / 1024 / 1024).toFixed(1)} MiB; example files can be at most ${MAX_EXAMPLE_MIB} MiB.`,
      );
      return;
    }
    void run(`Results for ${file.name}`, async () => {
      let embedded: { data: { embedding: number[] }[] };
      try {
        embedded = await api("/v1/embeddings", {
          body: { model: collection.model, input: [await readAsDataUrl(file)] },
        });
      } catch (failure) {
        if (!(failure instanceof ApiError) || failure.status === 0) throw failure;
        throw new ApiError(
          `${file.name} cannot be searched with ${collection.model}: ${failure.message}`,
          failure.status,
          failure.code,
        );
      }
      const vector = embedded.data[0]?.embedding ?? [];
      return api(`/v1/collections/${encodeURIComponent(name)}/query`, {
        body: { vector, k, ...(filter.trim() === "" ? {} : { filter }) },
      });
    });
  };
  const similar = (id: string) => {
    if (name === undefined) return;
    void run(`More like "${id}"`, () =>
      api(`/v1/dashboard/collections/${encodeURIComponent(name)}/similar`, { body: { id, k } }),
    );
  };
  return (
    <section>
      <h1>Collection {name ?? ""}</h1>
      <ErrorBox message={overview.error} />
      <CollectionPicker page="collection" current={name} collections={overview.data?.collections ?? []} />
      {name !== undefined && (
        <>
          {collection !== undefined && (
            <p class="hint">
              model {collection.model} · {collection.dims} dims · {collection.metric} ·{" "}
              <a href={`#/map/${encodeURIComponent(name)}`}>map</a>
            </p>
          )}
          <form class="row" onSubmit={search}>
            <input
              type="search"
              name="query"
              placeholder="search text"
              value={query}
              onInput={(event) => setQuery((event.target as HTMLInputElement).value)}
            />
            <KInput value={k} onChange={setK} />
            <input
              type="text"
              name="filter"
              placeholder="filter, e.g. lang=en"
              value={filter}
              onInput={(event) => setFilter((event.target as HTMLInputElement).value)}
            />
            <button type="submit" disabled={busy}>
              Search
            </button>
          </form>
          {collection !== undefined && collection.modality !== "text" && (
            <div class="row">
              <label>
                Search by example file ({collection.modality ?? "media"}, up to {MAX_EXAMPLE_MIB} MiB){" "}
                <input
                  type="file"
                  name="example"
                  data-testid="example-file"
                  {...(ACCEPT[collection.modality ?? ""] === undefined
                    ? {}
                    : { accept: ACCEPT[collection.modality ?? ""] })}
                  onChange={(event) => {
                    const input = event.target as HTMLInputElement;
                    const file = input.files?.[0];
                    if (file !== undefined) searchByFile(file);
                    // The same file can be chosen again (after changing k or the filter).
                    input.value = "";
                  }}
                />
              </label>
            </div>
          )}
          <ErrorBox message={error} />
          {results !== undefined && <Results title={results.title} hits={results.hits} />}
          <ItemTable name={name} onSimilar={similar} onDeleted={overview.reload} />
        </>
      )}
    </section>
  );
}
