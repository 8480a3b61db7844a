/**
 * The dashboard's only way to the server: same-origin `fetch` with the API key
 * from sessionStorage in the `Authorization` header (never in a URL), errors
 * turned into {@link ApiError}s with the server's message, and a connection
 * watch that notices a server restart and tells the app when it is back.
 */
import { signal } from "@preact/signals";

const KEY_STORAGE = "embedkit.apiKey";

/** The API key of this browser tab (sessionStorage: gone when the tab closes). */
export function apiKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function setApiKey(key: string | null): void {
  if (key === null || key === "") sessionStorage.removeItem(KEY_STORAGE);
  else sessionStorage.setItem(KEY_STORAGE, key);
}

/** An error answer of the server (OpenAI shape), or the server being unreachable (status 0). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
  }
}

/** Connection state shown by the app: "ok", "down" (retrying), or "auth" (key needed or wrong). */
export const connection = signal<"ok" | "down" | "auth">("ok");
/** Bumped when the server is reachable again after being down, so pages reload their data. */
export const reconnects = signal(0);
/** The last authentication message (shown above the key form). */
export const authMessage = signal<string>("");

let watching = false;

async function watchUntilUp(): Promise<void> {
  if (watching) return;
  watching = true;
  connection.value = "down";
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    try {
      const response = await fetch("/health", { cache: "no-store" });
      if (response.status === 200) break;
    } catch {}
  }
  watching = false;
  connection.value = "ok";
  reconnects.value++;
}

/**
 * Call the API. JSON in and out; `raw` returns the Response (for non-JSON answers).
 * @throws ApiError with the server's message (status 0 when the server is unreachable)
 */
export async function api<T>(
  path: string,
  options: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const response = await send(path, options);
  return (await response.json()) as T;
}

/** Like {@link api} but returns the Response (status and body untouched, errors still thrown). */
export async function send(
  path: string,
  options: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  const key = apiKey();
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      headers,
      cache: "no-store",
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    void watchUntilUp();
    throw new ApiError("The server is not reachable; retrying until it is back…", 0, null);
  }
  if (response.ok) {
    if (connection.value === "auth") connection.value = "ok";
    return response;
  }
  let message = `${response.status} ${response.statusText}`;
  let code: string | null = null;
  try {
    const body = (await response.json()) as { error?: { message?: string; code?: string | null } };
    message = body.error?.message ?? message;
    code = body.error?.code ?? null;
  } catch {}
  if (response.status === 401) {
    authMessage.value =
      key === null ? "This server needs an API key." : `The API key was rejected (401): ${message}`;
    connection.value = "auth";
  } else if (response.status === 503 && code === "server_shutting_down") {
    void watchUntilUp();
  }
  throw new ApiError(message, response.status, code);
}

/**
 * The server's health status (`/health` is public), or "unreachable" — which also starts the
 * connection watch, so every page notices a server that went away.
 */
export async function health(): Promise<string> {
  try {
    const response = await fetch("/health", { cache: "no-store" });
    return ((await response.json()) as { status: string }).status;
  } catch {
    void watchUntilUp();
    return "unreachable";
  }
}

/** Decode base64 into bytes. */
export function base64Bytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Offer text as a file download (no server round trip, no URL holding data outside this tab). */
export function download(name: string, type: string, content: BlobPart): void {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
