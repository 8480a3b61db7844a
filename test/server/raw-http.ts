/**
 * @module test/server/raw-http
 * Raw HTTP/1.1 over a TCP socket, for tests that must send request targets and
 * headers exactly as an attacker would (percent-encoding, absolute-form, dot
 * segments, oversized headers) — things `fetch` and `inject` normalise away.
 */
import { connect } from "node:net";

/** A parsed raw response. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** `statusCode` alias so `expectOpenAiError` accepts it. */
  readonly statusCode: number;
}

/** Options of {@link rawRequest}. */
export interface RawRequestOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Give up after this long (ms). @default 10000 */
  readonly timeoutMs?: number;
}

/**
 * Send one request with the exact request target given and read the response
 * (the connection is closed after it).
 */
export function rawRequest(
  port: number,
  target: string,
  options: RawRequestOptions = {},
): Promise<RawResponse> {
  const method = options.method ?? "GET";
  const headers: Record<string, string> = {
    host: `127.0.0.1:${port}`,
    connection: "close",
    ...options.headers,
  };
  if (options.body !== undefined) {
    headers["content-length"] = String(Buffer.byteLength(options.body));
    headers["content-type"] ??= "application/json";
  }
  const head = `${method} ${target} HTTP/1.1\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("")}\r\n`;
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no response to ${method} ${target} within ${options.timeoutMs ?? 10_000} ms`));
    }, options.timeoutMs ?? 10_000);
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("utf8");
      const end = text.indexOf("\r\n\r\n");
      const lines = (end === -1 ? text : text.slice(0, end)).split("\r\n");
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "")?.[1] ?? 0);
      const parsed: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        if (colon > 0) parsed[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body = end === -1 ? "" : text.slice(end + 4);
      if (parsed["transfer-encoding"] === "chunked") body = unchunk(body);
      resolve({ status, statusCode: status, headers: parsed, body });
    });
    socket.write(head);
    if (options.body !== undefined) socket.write(options.body);
  });
}

function unchunk(body: string): string {
  let out = "";
  let rest = body;
  for (;;) {
    const line = rest.indexOf("\r\n");
    if (line === -1) return out;
    const size = Number.parseInt(rest.slice(0, line), 16);
    if (!Number.isFinite(size) || size === 0) return out;
    out += rest.slice(line + 2, line + 2 + size);
    rest = rest.slice(line + 2 + size + 2);
  }
}
