/** Small pieces every page uses: loading/error display, the collection list hook, number formats. */
import { useEffect, useState } from "preact/hooks";
import { isThumbnailDataUrl, THUMBNAIL_FIELD } from "../../src/embed/media/image/thumbnail-url";
import { ApiError, api, reconnects } from "./api";

export { THUMBNAIL_FIELD };

/** One point of a FAQ's calibrated coverage/precision curve. */
export interface CurvePoint {
  readonly threshold: number;
  readonly coverage: number;
  readonly precision: number;
}

export interface CollectionInfo {
  readonly name: string;
  readonly model: string;
  /** The catalog modality of the collection's model (text, image, audio…); null outside the catalog. */
  readonly modality: string | null;
  readonly dims: number;
  readonly metric: string;
  readonly count: number;
  readonly bytes_estimate: number;
  readonly created_at: string;
  readonly faq: {
    readonly threshold: number | null;
    readonly threshold_source: string | null;
    readonly fallback: string | null;
    readonly answers: number | null;
    readonly questions: number | null;
    /** Coverage/precision trade-off of the last `faq calibrate`, ascending thresholds; null when not calibrated. */
    readonly calibration_curve: readonly CurvePoint[] | null;
  } | null;
}

export interface ModelInfo {
  readonly id: string;
  readonly root: string;
  readonly loaded: boolean;
  readonly alias: boolean;
  readonly dims: number | null;
  readonly languages: readonly string[];
}

export interface Overview {
  readonly uptime_seconds: number;
  readonly default_model: string;
  readonly models: readonly ModelInfo[];
  readonly collections: readonly CollectionInfo[];
  readonly metrics: {
    readonly requests_total: number;
    readonly tokens_total: number;
    readonly queue_depth: number;
    readonly latency_p50_seconds: number | null;
    readonly latency_p99_seconds: number | null;
  };
}

/** Load data when `deps` change and again after a reconnect; `reload()` to refresh. */
export function useLoad<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
): { data: T | undefined; error: string | undefined; status: number; reload: () => void } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [status, setStatus] = useState(0);
  const [tick, setTick] = useState(0);
  const again = reconnects.value;
  useEffect(() => {
    const controller = new AbortController();
    setError(undefined);
    load(controller.signal).then(
      (value) => {
        if (!controller.signal.aborted) setData(value);
      },
      (failure: unknown) => {
        if (controller.signal.aborted) return;
        setError((failure as Error).message);
        setStatus(failure instanceof ApiError ? failure.status : 0);
      },
    );
    return () => controller.abort();
  }, [...deps, tick, again]);
  return { data, error, status, reload: () => setTick((value) => value + 1) };
}

export function useOverview() {
  return useLoad((signal) => api<Overview>("/v1/dashboard/overview", { signal }), []);
}

export function ErrorBox({ message }: { message: string | undefined }) {
  if (message === undefined) return null;
  return (
    <p class="error" role="alert">
      {message}
    </p>
  );
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * An item's thumbnail (the image stored at index time), or nothing: only a checked
 * `data:image/(webp|jpeg|png);base64,…` value is ever put in an `<img src>` — the
 * server checks it too, but the value comes from whoever wrote the collection.
 */
export function Thumbnail({ src, alt }: { src: unknown; alt: string }) {
  if (!isThumbnailDataUrl(src)) return null;
  return <img class="thumbnail" src={src} alt={alt} data-testid="thumbnail" />;
}

export function formatScore(score: number): string {
  return score.toFixed(4);
}

/** Categorical palette for map colours (12 distinguishable colours). */
export const PALETTE: readonly [number, number, number][] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
  [57, 59, 121],
  [173, 73, 74],
];

export function rgb([r, g, b]: readonly [number, number, number]): string {
  return `rgb(${r}, ${g}, ${b})`;
}

/** A select of collections (optionally only FAQs), navigating to `#/<page>/<name>` on change. */
export function CollectionPicker({
  page,
  current,
  collections,
  onlyFaq = false,
}: {
  page: string;
  current: string | undefined;
  collections: readonly CollectionInfo[];
  onlyFaq?: boolean;
}) {
  const shown = collections.filter((collection) => !onlyFaq || collection.faq !== null);
  return (
    <label class="picker">
      {onlyFaq ? "FAQ collection " : "Collection "}
      <select
        value={current ?? ""}
        onChange={(event) => {
          location.hash = `#/${page}/${encodeURIComponent((event.target as HTMLSelectElement).value)}`;
        }}
      >
        <option value="" disabled>
          choose…
        </option>
        {shown.map((collection) => (
          <option key={collection.name} value={collection.name}>
            {collection.name} ({collection.count})
          </option>
        ))}
      </select>
    </label>
  );
}

/** The "k" (how many results) number field the search and recommendation forms share. */
export function KInput({ value, onChange }: { value: number; onChange: (k: number) => void }) {
  return (
    <label>
      k{" "}
      <input
        type="number"
        name="k"
        min={1}
        max={100}
        value={value}
        onInput={(event) => onChange(Number((event.target as HTMLInputElement).value) || 10)}
      />
    </label>
  );
}
