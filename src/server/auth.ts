/**
 * @module server/auth
 * Bearer API keys. Keys are kept only as SHA-256 digests and every request is
 * compared against all of them with `crypto.timingSafeEqual` on equal-length
 * digests, without stopping at the first match, so response time says nothing
 * about how much of a key was right.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { EmbedkitError } from "../errors.js";
import { HttpError } from "./http-error.js";

/** Checks an `Authorization` header against the configured keys. */
export interface ApiKeyCheck {
  /** Whether any key is configured (no keys = authentication off). */
  readonly enabled: boolean;
  /**
   * Accept or throw.
   * @throws HttpError 401 (code `invalid_api_key`) for a missing, malformed or wrong key
   */
  verify(authorization: string | undefined): void;
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

const CHALLENGE = { "www-authenticate": 'Bearer realm="embedkit"' };

/**
 * Create the API key check.
 * @throws EmbedkitError INVALID_OPTION for an empty key or one with whitespace
 * @example
 * ```ts
 * const auth = createApiKeyCheck(["sk-local-1"]);
 * auth.verify("Bearer sk-local-1"); // passes
 * ```
 */
export function createApiKeyCheck(keys: readonly string[]): ApiKeyCheck {
  const digests = keys.map((key, index) => {
    if (typeof key !== "string" || key.length === 0 || /\s/.test(key)) {
      throw new EmbedkitError(
        "INVALID_OPTION",
        `API key ${index + 1} is empty or contains whitespace; keys are sent as "Authorization: Bearer <key>", ` +
          "so use a single token without spaces.",
      );
    }
    return digest(key);
  });
  return {
    enabled: digests.length > 0,
    verify(authorization) {
      if (digests.length === 0) return;
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
      if (match === null) {
        throw new HttpError({
          statusCode: 401,
          code: "invalid_api_key",
          message:
            authorization === undefined
              ? "You didn't provide an API key. Send it in the header 'Authorization: Bearer <key>' " +
                "(the keys this server accepts were set with --api-key or EMBEDKIT_API_KEYS)."
              : "The Authorization header is malformed: expected 'Bearer <key>'.",
          headers: CHALLENGE,
        });
      }
      const presented = digest(match[1] as string);
      let accepted = false;
      for (const candidate of digests) {
        // No early exit: every key is compared on every request.
        accepted = timingSafeEqual(presented, candidate) || accepted;
      }
      if (!accepted) {
        throw new HttpError({
          statusCode: 401,
          code: "invalid_api_key",
          message:
            "Incorrect API key provided. Use one of the keys this server was started with " +
            "(--api-key or EMBEDKIT_API_KEYS).",
          headers: CHALLENGE,
        });
      }
    },
  };
}
