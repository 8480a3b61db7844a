/**
 * @module models/sources
 * Where each kind of {@link ModelSource} lives on the network: the URL of a
 * Maven jar, an npm tarball or a Hugging Face file, plus a one-line description
 * for manifests and `embedkit models list`. Pure functions; endpoints come from
 * the store's options (which default to the environment variables).
 */
import { posix } from "node:path";
import type { ModelSource } from "./model-spec.js";

/** Base URLs of the remote sources (no trailing slash needed). */
export interface SourceEndpoints {
  readonly mavenUrl: string;
  readonly npmRegistry: string;
  readonly hfEndpoint: string;
}

/**
 * `${indexUrl}/<normalized-name>/`: the project page of a PEP 503/691 "simple"
 * index (what pip reads; JSON when asked with `Accept: application/vnd.pypi.simple.v1+json`),
 * which lists every file's URL and sha256. Names are normalized as PEP 503 says.
 */
export function pypiProjectUrl(indexUrl: string, source: Extract<ModelSource, { type: "pypi" }>): string {
  const normalized = source.name.toLowerCase().replace(/[-_.]+/g, "-");
  return `${trimSlash(indexUrl)}/${encodeURIComponent(normalized)}/`;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/** `${mavenUrl}/dev/langchain4j/<artifact>/<version>/<artifact>-<version>.jar` */
export function mavenArtifactUrl(mavenUrl: string, source: Extract<ModelSource, { type: "maven" }>): string {
  const { group, artifact, version } = source;
  return `${trimSlash(mavenUrl)}/${group.replace(/\./g, "/")}/${artifact}/${version}/${artifact}-${version}.jar`;
}

/** `${registry}/<name>/-/<basename(name)>-<version>.tgz` (scoped names keep their scope in the path). */
export function npmTarballUrl(registry: string, source: Extract<ModelSource, { type: "npm" }>): string {
  return `${trimSlash(registry)}/${source.name}/-/${posix.basename(source.name)}-${source.version}.tgz`;
}

/** `${hfEndpoint}/<repo>/resolve/<revision>/<path>` */
export function hfFileUrl(hfEndpoint: string, repo: string, revision: string, path: string): string {
  const encodedPath = path.split("/").map(encodeURIComponent).join("/");
  return `${trimSlash(hfEndpoint)}/${repo}/resolve/${encodeURIComponent(revision)}/${encodedPath}`;
}

/** File name of a downloaded artifact (jar or tgz), `undefined` for per-file sources. */
export function artifactFileName(source: ModelSource): string | undefined {
  if (source.type === "maven") return `${source.artifact}-${source.version}.jar`;
  if (source.type === "npm") return `${posix.basename(source.name)}-${source.version}.tgz`;
  if (source.type === "pypi") return source.filename;
  return undefined;
}

/** One-line description: `maven:group:artifact:version`, `npm:name@version`, `pypi:name==version`, `hf:repo@rev`, `dir:/path`. */
export function describeSource(source: ModelSource): string {
  switch (source.type) {
    case "maven":
      return `maven:${source.group}:${source.artifact}:${source.version}`;
    case "npm":
      return `npm:${source.name}@${source.version}`;
    case "pypi":
      return `pypi:${source.name}==${source.version}`;
    case "hf":
      return `hf:${source.repo}@${source.revision}`;
    case "dir":
      return `dir:${source.path}`;
  }
}
