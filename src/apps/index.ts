/**
 * @module apps
 * Applications built on the store and eval layers (below server and CLI).
 * Re-exports only.
 */
export * from "./faq/index.js";
export * from "./recommend/index.js";
export * from "./social/index.js";
