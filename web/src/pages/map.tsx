/**
 * Map: the collection's 2-D projection (computed on the server, cached per collection version),
 * drawn with deck.gl (WebGL). Colour by a metadata field, hover for the text (and an image's
 * thumbnail, fetched with the item, never with the map), click for the
 * nearest neighbours, lasso to select and export ids (CSV / JSON). Shows progress while the
 * projection computes; the browser only draws, so a 100k-point map never blocks the tab for long:
 * hover and click find their point on the CPU (no GPU picking at all, so nothing is read back
 * from the GPU while panning or zooming), hover only once the pointer rests on a still view.
 */
import { Deck, OrthographicView } from "@deck.gl/core";
import { ScatterplotLayer } from "@deck.gl/layers";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api, base64Bytes, download, send } from "../api";
import type { PageProps } from "../pages";
import { CollectionPicker, ErrorBox, formatScore, PALETTE, rgb, Thumbnail, useOverview } from "../shared";

interface MapColour {
  readonly field: string;
  readonly values: readonly string[];
  readonly codes: string;
}
interface MapAnswer {
  readonly status: "ready" | "computing";
  readonly progress?: number;
  readonly stage?: string;
  readonly total?: number;
  readonly count?: number;
  readonly sampled?: boolean;
  readonly seconds?: number;
  readonly cached?: boolean;
  readonly method?: string;
  readonly ids?: readonly string[];
  readonly points?: string;
  readonly colours?: readonly MapColour[];
}
interface LoadedMap {
  readonly answer: MapAnswer;
  readonly ids: readonly string[];
  readonly points: Float32Array;
}
/** What hover shows of an item: its text (an image's path) and its thumbnail when it has one. */
interface HoverItem {
  readonly text: string;
  readonly thumbnail: string | null;
}

interface Neighbour {
  readonly id: string;
  readonly score: number;
  readonly text: string | null;
}

const DEFAULT_COLOUR: readonly [number, number, number] = [31, 119, 180];

function coloursFor(map: LoadedMap, field: string): Uint8Array {
  const out = new Uint8Array(map.ids.length * 3);
  const colour = map.answer.colours?.find((entry) => entry.field === field);
  const codes = colour === undefined ? undefined : new Int8Array(base64Bytes(colour.codes).buffer);
  for (let i = 0; i < map.ids.length; i++) {
    const code = codes?.[i] ?? -1;
    const [r, g, b] =
      code < 0
        ? colour === undefined
          ? DEFAULT_COLOUR
          : [170, 170, 170]
        : (PALETTE[code % PALETTE.length] ?? DEFAULT_COLOUR);
    out[i * 3] = r;
    out[i * 3 + 1] = g;
    out[i * 3 + 2] = b;
  }
  return out;
}

/** Ray casting: is (x, y) inside the polygon? */
function inside(x: number, y: number, polygon: readonly (readonly [number, number])[]): boolean {
  let result = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i] as readonly [number, number];
    const [xj, yj] = polygon[j] as readonly [number, number];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) result = !result;
  }
  return result;
}

/** Pixels around the pointer within which a point is "under" it (drawn radius plus a margin). */
const PICK_RADIUS_PX = 6;
/** How long the pointer must rest on a still view before hover looks for the point under it (ms). */
const HOVER_REST_MS = 120;
/** A press that moves further than this (pixels) before its release is a drag, not a click. */
const CLICK_SLOP_PX = 4;

interface ScreenViewport {
  unproject(xyz: number[]): number[];
  project(xyz: number[]): number[];
}

/**
 * The point drawn under the screen position (x, y) — the nearest within `radius` pixels, the last
 * drawn (on top) on a tie — or -1. Picking is done here on the CPU over the points the page already
 * holds (one pass, well under a millisecond at 100k points) instead of deck.gl's GPU picking, which
 * draws every point again and reads pixels back: in software WebGL that blocked the tab for seconds
 * at 100k points on each press, click and hover (bench/notes/dashboard.md).
 */
function pointAt(
  points: Float32Array,
  viewport: ScreenViewport,
  x: number,
  y: number,
  radius: number,
): number {
  const [wx, wy] = viewport.unproject([x, y]) as [number, number];
  const [rx, ry] = viewport.unproject([x + radius, y]) as [number, number];
  let bestDistance = (rx - wx) ** 2 + (ry - wy) ** 2;
  let best = -1;
  for (let i = 0; i < points.length / 2; i++) {
    const dx = (points[i * 2] as number) - wx;
    const dy = (points[i * 2 + 1] as number) - wy;
    const distance = dx * dx + dy * dy;
    if (distance <= bestDistance) {
      bestDistance = distance;
      best = i;
    }
  }
  return best;
}

function MapCanvas({ name, map, field }: { name: string; map: LoadedMap; field: string }) {
  const wrap = useRef<HTMLDivElement>(null);
  const lassoCanvas = useRef<HTMLCanvasElement>(null);
  const deck = useRef<Deck<OrthographicView> | null>(null);
  const texts = useRef(new Map<string, HoverItem>());
  const [tooltip, setTooltip] = useState<
    { x: number; y: number; pointX: number; pointY: number; item: HoverItem } | undefined
  >(undefined);
  const [neighbours, setNeighbours] = useState<{ id: string; hits: readonly Neighbour[] } | undefined>(
    undefined,
  );
  const [lasso, setLasso] = useState(false);
  const [selected, setSelected] = useState<readonly string[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  const hoverToken = useRef(0);
  const lassoOn = useRef(lasso);
  lassoOn.current = lasso;

  /** The hovered item's text and thumbnail: one item fetched per hover (the map carries neither). */
  const itemOf = async (id: string): Promise<HoverItem> => {
    const known = texts.current.get(id);
    if (known !== undefined) return known;
    const answer = await api<{ data: { id: string; text: string | null; thumbnail?: string | null }[] }>(
      `/v1/dashboard/collections/${encodeURIComponent(name)}/items/get`,
      { body: { ids: [id] } },
    );
    const found = answer.data[0];
    const item = { text: found?.text ?? id, thumbnail: found?.thumbnail ?? null };
    texts.current.set(id, item);
    return item;
  };

  // One colour buffer per field, made once.
  const colourBuffers = useRef(new Map<string, Uint8Array>());
  const coloursOf = (key: string): Uint8Array => {
    let colours = colourBuffers.current.get(key);
    if (colours === undefined) {
      colours = coloursFor(map, key);
      colourBuffers.current.set(key, colours);
    }
    return colours;
  };
  const currentField = useRef(field);
  currentField.current = field;

  // Not pickable: deck.gl then runs no GPU picking at all (not on presses, drags, clicks or hover);
  // hover and click find their point with pointAt.
  const layer = (colours: Uint8Array) =>
    new ScatterplotLayer({
      id: "points",
      data: {
        length: map.ids.length,
        attributes: {
          getPosition: { value: map.points, size: 2 },
          getFillColor: { value: colours, size: 3, normalized: true },
        },
      },
      radiusUnits: "pixels",
      getRadius: map.ids.length > 20_000 ? 2 : 4,
      radiusMinPixels: 1.5,
      pickable: false,
    });

  useEffect(() => {
    const element = wrap.current;
    if (element === null) return;
    const width = element.clientWidth;
    const height = element.clientHeight;
    let frames = 0;
    /** Whether the view is being panned, zoomed or is still moving after a gesture. */
    let moving = false;
    /** The pointer's last position over the map (wrap pixels), undefined when outside. */
    let pointer: { x: number; y: number } | undefined;
    let pressedAt: { x: number; y: number } | undefined;
    let restTimer: ReturnType<typeof setTimeout> | undefined;

    const pick = (x: number, y: number): number => {
      const viewport = deck.current?.getViewports()[0] as ScreenViewport | undefined;
      return viewport === undefined ? -1 : pointAt(map.points, viewport, x, y, PICK_RADIUS_PX);
    };
    const hideTooltip = () => {
      hoverToken.current++;
      if (restTimer !== undefined) clearTimeout(restTimer);
      restTimer = undefined;
      setTooltip(undefined);
    };
    const hover = () => {
      restTimer = undefined;
      if (pointer === undefined || moving || pressedAt !== undefined || lassoOn.current) return;
      const token = ++hoverToken.current;
      const index = pick(pointer.x, pointer.y);
      if (index < 0) {
        setTooltip(undefined);
        return;
      }
      const viewport = deck.current?.getViewports()[0] as ScreenViewport;
      const [pointX, pointY] = viewport.project([
        map.points[index * 2] as number,
        map.points[index * 2 + 1] as number,
      ]) as [number, number];
      const at = pointer;
      itemOf(map.ids[index] as string).then(
        (item) => {
          if (token === hoverToken.current) setTooltip({ x: at.x, y: at.y, pointX, pointY, item });
        },
        (failure: unknown) => setError((failure as Error).message),
      );
    };
    /** Hover picks once the pointer has rested, the view is still and no button is down. */
    const rest = () => {
      if (restTimer !== undefined) clearTimeout(restTimer);
      restTimer = setTimeout(hover, HOVER_REST_MS);
    };
    /** The pointer in the canvas' pixels (the wrap's padding box: its border excluded). */
    const position = (event: MouseEvent) => {
      const box = element.getBoundingClientRect();
      return {
        x: event.clientX - box.left - element.clientLeft,
        y: event.clientY - box.top - element.clientTop,
      };
    };
    const onPointerMove = (event: PointerEvent) => {
      pointer = position(event);
      if (event.buttons !== 0 || moving) {
        hideTooltip();
        return;
      }
      rest();
    };
    const onPointerDown = (event: PointerEvent) => {
      pressedAt = position(event);
      hideTooltip();
    };
    const onPointerUp = () => {
      // The click handler (fired after this) still sees where the press started.
      setTimeout(() => {
        pressedAt = undefined;
      }, 0);
    };
    const onPointerLeave = () => {
      pointer = undefined;
      hideTooltip();
    };
    const onClick = (event: MouseEvent) => {
      const at = position(event);
      const start = pressedAt;
      pressedAt = undefined;
      if (lassoOn.current || event.target === lassoCanvas.current) return;
      // A press that moved is a drag (a pan): no pick.
      if (start !== undefined && Math.hypot(at.x - start.x, at.y - start.y) > CLICK_SLOP_PX) return;
      const index = pick(at.x, at.y);
      if (index < 0) return;
      const id = map.ids[index] as string;
      api<{ data: readonly Neighbour[] }>(`/v1/dashboard/collections/${encodeURIComponent(name)}/similar`, {
        body: { id, k: 10 },
      }).then(
        (answer) => setNeighbours({ id, hits: answer.data }),
        (failure: unknown) => setError((failure as Error).message),
      );
      rest();
    };
    element.addEventListener("pointermove", onPointerMove);
    element.addEventListener("pointerdown", onPointerDown);
    element.addEventListener("pointerup", onPointerUp);
    element.addEventListener("pointerleave", onPointerLeave);
    element.addEventListener("click", onClick);
    element.addEventListener("wheel", hideTooltip, { passive: true });

    const instance = new Deck<OrthographicView>({
      parent: element,
      width: "100%",
      height: "100%",
      views: new OrthographicView({ id: "map", flipY: true }),
      initialViewState: {
        target: [0, 0, 0],
        zoom: Math.log2(Math.min(width, height) / 2.4),
        minZoom: -2,
        maxZoom: 20,
      },
      controller: true,
      // The first frame is drawn empty and the points are added after it: the canvas takes its
      // size in that frame, and resizing a canvas waits for the GPU to finish what it was given —
      // with the points already queued that froze the tab for seconds at 100k points
      // (software WebGL; bench/notes/dashboard.md).
      layers: [],
      onInteractionStateChange: (state) => {
        const now = Boolean(state.isDragging || state.isPanning || state.isZooming || state.inTransition);
        if (now === moving) return;
        moving = now;
        if (now) hideTooltip();
        else if (pointer !== undefined) rest();
      },
      onAfterRender: () => {
        frames++;
        element.dataset.frames = String(frames);
        if (frames === 1) instance.setProps({ layers: [layer(coloursOf(currentField.current))] });
        else if (frames === 2) element.dataset.rendered = "true";
      },
    });
    deck.current = instance;
    return () => {
      if (restTimer !== undefined) clearTimeout(restTimer);
      element.removeEventListener("pointermove", onPointerMove);
      element.removeEventListener("pointerdown", onPointerDown);
      element.removeEventListener("pointerup", onPointerUp);
      element.removeEventListener("pointerleave", onPointerLeave);
      element.removeEventListener("click", onClick);
      element.removeEventListener("wheel", hideTooltip);
      instance.finalize();
      deck.current = null;
    };
  }, [map]);

  useEffect(() => {
    if (Number(wrap.current?.dataset.frames ?? 0) >= 1)
      deck.current?.setProps({ layers: [layer(coloursOf(field))] });
  }, [field]);

  // Lasso: draw a polygon on an overlay, then select the points inside it (in world coordinates).
  useEffect(() => {
    const canvas = lassoCanvas.current;
    if (!lasso || canvas === null) return;
    canvas.width = canvas.clientWidth;
    canvas.height = canvas.clientHeight;
    const context = canvas.getContext("2d");
    let path: [number, number][] = [];
    let drawing = false;
    const position = (event: PointerEvent): [number, number] => {
      const box = canvas.getBoundingClientRect();
      return [event.clientX - box.left, event.clientY - box.top];
    };
    const down = (event: PointerEvent) => {
      drawing = true;
      path = [position(event)];
      canvas.setPointerCapture(event.pointerId);
    };
    const move = (event: PointerEvent) => {
      if (!drawing || context === null) return;
      path.push(position(event));
      context.clearRect(0, 0, canvas.width, canvas.height);
      context.strokeStyle = "#d62728";
      context.lineWidth = 2;
      context.beginPath();
      for (const [index, [x, y]] of path.entries()) {
        if (index === 0) context.moveTo(x, y);
        else context.lineTo(x, y);
      }
      context.closePath();
      context.stroke();
    };
    const up = () => {
      if (!drawing) return;
      drawing = false;
      const viewport = deck.current?.getViewports()[0];
      if (viewport === undefined || path.length < 3) return;
      const polygon = path.map((point) => {
        const [x, y] = viewport.unproject(point) as [number, number];
        return [x, y] as const;
      });
      const ids: string[] = [];
      for (let i = 0; i < map.ids.length; i++) {
        if (inside(map.points[i * 2] as number, map.points[i * 2 + 1] as number, polygon))
          ids.push(map.ids[i] as string);
      }
      setSelected(ids);
    };
    canvas.addEventListener("pointerdown", down);
    canvas.addEventListener("pointermove", move);
    canvas.addEventListener("pointerup", up);
    return () => {
      canvas.removeEventListener("pointerdown", down);
      canvas.removeEventListener("pointermove", move);
      canvas.removeEventListener("pointerup", up);
    };
  }, [lasso, map]);

  const colour = map.answer.colours?.find((entry) => entry.field === field);
  return (
    <>
      <div class="row">
        <button type="button" onClick={() => setLasso(!lasso)} aria-pressed={lasso}>
          {lasso ? "Stop lasso (pan/zoom)" : "Lasso select"}
        </button>
        {selected.length > 0 && (
          <>
            <span data-testid="selected">{selected.length} selected</span>
            <button
              type="button"
              onClick={() =>
                download(
                  `${name}-selection.csv`,
                  "text/csv",
                  `id\n${selected.map((id) => (/[",\n]/.test(id) ? `"${id.replace(/"/g, '""')}"` : id)).join("\n")}\n`,
                )
              }
            >
              Export CSV
            </button>
            <button
              type="button"
              onClick={() =>
                download(
                  `${name}-selection.json`,
                  "application/json",
                  JSON.stringify({ collection: name, ids: selected }, null, 2),
                )
              }
            >
              Export JSON
            </button>
          </>
        )}
      </div>
      {colour !== undefined && (
        <p class="legend">
          {colour.values.map((value, index) => (
            <span key={value}>
              <i
                class="swatch"
                style={{ background: rgb(PALETTE[index % PALETTE.length] ?? DEFAULT_COLOUR) }}
              />
              {value}
            </span>
          ))}
        </p>
      )}
      <ErrorBox message={error} />
      <div class="map-wrap" ref={wrap} data-testid="map" data-points={map.ids.length}>
        {lasso && <canvas class="lasso" ref={lassoCanvas} data-testid="lasso" />}
        {tooltip !== undefined && (
          <i
            class="hover-ring"
            data-testid="hover-ring"
            style={{ left: `${tooltip.pointX}px`, top: `${tooltip.pointY}px` }}
          />
        )}
        {tooltip !== undefined && (
          <div
            class="tooltip"
            data-testid="tooltip"
            style={{ left: `${tooltip.x + 12}px`, top: `${tooltip.y + 12}px` }}
          >
            <Thumbnail src={tooltip.item.thumbnail} alt={tooltip.item.text} />
            <span data-testid="tooltip-text">{tooltip.item.text}</span>
          </div>
        )}
      </div>
      {neighbours !== undefined && (
        <section>
          <h2>Nearest neighbours of {neighbours.id}</h2>
          <table data-testid="neighbours">
            <tbody>
              {neighbours.hits.map((hit) => (
                <tr key={hit.id}>
                  <td class="num">{formatScore(hit.score)}</td>
                  <td>{hit.id}</td>
                  <td>{hit.text ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </>
  );
}

export function MapPage({ params }: PageProps) {
  const name = params[0];
  const overview = useOverview();
  const [method, setMethod] = useState<"pca" | "umap">("pca");
  const [progress, setProgress] = useState<{ progress: number; stage: string } | undefined>(undefined);
  const [map, setMap] = useState<LoadedMap | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [field, setField] = useState("");
  useEffect(() => {
    if (name === undefined) return;
    let stopped = false;
    setMap(undefined);
    setError(undefined);
    const poll = async () => {
      try {
        const response = await send(
          `/v1/dashboard/collections/${encodeURIComponent(name)}/map?method=${method}`,
        );
        const answer = (await response.json()) as MapAnswer;
        if (stopped) return;
        if (answer.status === "computing") {
          setProgress({ progress: answer.progress ?? 0, stage: answer.stage ?? "" });
          setTimeout(() => void poll(), 700);
          return;
        }
        setProgress(undefined);
        // Give the tab a frame between parsing the answer and decoding its points (shorter tasks).
        await new Promise((resolve) => setTimeout(resolve, 0));
        if (stopped) return;
        const points = new Float32Array(base64Bytes(answer.points ?? "").buffer);
        setMap({ answer, ids: answer.ids ?? [], points });
        setField(answer.colours?.[0]?.field ?? "");
      } catch (failure) {
        if (stopped) return;
        setProgress(undefined);
        const status = failure instanceof ApiError ? failure.status : 0;
        setError(
          status === 404
            ? `Collection "${name}" does not exist (it may have been deleted): ${(failure as Error).message}`
            : (failure as Error).message,
        );
      }
    };
    void poll();
    return () => {
      stopped = true;
    };
  }, [name, method]);
  return (
    <section>
      <h1>Map {name ?? ""}</h1>
      <ErrorBox message={overview.error} />
      <div class="row">
        <CollectionPicker page="map" current={name} collections={overview.data?.collections ?? []} />
        <label>
          projection{" "}
          <select
            value={method}
            onChange={(event) => setMethod((event.target as HTMLSelectElement).value as "pca" | "umap")}
          >
            <option value="pca">PCA</option>
            <option value="umap">UMAP (≤ 5,000 items)</option>
          </select>
        </label>
        {map !== undefined && (map.answer.colours?.length ?? 0) > 0 && (
          <label>
            colour by{" "}
            <select value={field} onChange={(event) => setField((event.target as HTMLSelectElement).value)}>
              <option value="">(none)</option>
              {map.answer.colours?.map((colour) => (
                <option key={colour.field} value={colour.field}>
                  {colour.field}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      <ErrorBox message={error} />
      {progress !== undefined && (
        <p data-testid="map-progress">
          Computing the projection: {progress.stage}{" "}
          <progress class="progress" max={1} value={progress.progress} />{" "}
          {Math.round(progress.progress * 100)} %
        </p>
      )}
      {map !== undefined && (
        <>
          <p class="hint" data-testid="map-info">
            {map.ids.length} points{map.answer.sampled ? ` (a sample of ${map.answer.total})` : ""} ·{" "}
            {map.answer.method?.toUpperCase()} ·{" "}
            {map.answer.cached ? "cached" : `computed in ${map.answer.seconds?.toFixed(2)} s`}
            {" · "}hover a point for its text, click it for its neighbours
          </p>
          {map.ids.length === 0 ? (
            <p class="hint" data-testid="empty">
              Nothing to map: the collection is empty.
            </p>
          ) : (
            <MapCanvas
              key={`${name}/${method}/${map.answer.seconds}`}
              name={name ?? ""}
              map={map}
              field={field}
            />
          )}
        </>
      )}
    </section>
  );
}
