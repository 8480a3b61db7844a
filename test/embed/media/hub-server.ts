/**
 * A Hub-like HTTP server on 127.0.0.1 for the `hf:` routes of the two-tower
 * models: it serves one local folder as `/<repo>/resolve/<revision>/<path>` and
 * points `HF_ENDPOINT` at itself while a callback runs.
 */
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

/**
 * Serve `root` as repository `repo` at `revision`, run `use` with `HF_ENDPOINT` set,
 * then restore it and stop the server. Returns the request paths it saw.
 */
export async function withHubFolder(
  root: string,
  repo: string,
  revision: string,
  use: () => Promise<void>,
): Promise<string[]> {
  const requested: string[] = [];
  const prefix = `/${repo}/resolve/${revision}/`;
  const server = createServer((request, response) => {
    const url = request.url ?? "";
    requested.push(url);
    const path = url.startsWith(prefix) ? decodeURIComponent(url.slice(prefix.length)) : "missing";
    readFile(join(root, path))
      .then((body) => {
        response.writeHead(200, { "content-length": body.length });
        response.end(body);
      })
      .catch(() => {
        response.writeHead(404);
        response.end();
      });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const saved = process.env.HF_ENDPOINT;
  process.env.HF_ENDPOINT = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await use();
  } finally {
    if (saved === undefined) delete process.env.HF_ENDPOINT;
    else process.env.HF_ENDPOINT = saved;
    await new Promise((done) => server.close(done));
  }
  return requested;
}
