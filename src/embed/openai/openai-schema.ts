/**
 * @module embed/openai/openai-schema
 * zod schemas of the OpenAI embeddings wire format (`POST /embeddings`): the
 * success body (`{object:"list", data:[{object:"embedding", index, embedding}],
 * model, usage}`) and the error body (`{error:{message, type, param, code}}`).
 * Lenient where compatible servers differ harmlessly (missing `object` tags,
 * missing `usage`, floats sent although base64 was asked for), strict where a
 * difference would misalign vectors (indices, vector types).
 */
import { z } from "zod";

/** One `data[]` item: a vector as base64 (little-endian float32) or as numbers. */
export const embeddingItemSchema = z.object({
  object: z.literal("embedding").optional(),
  index: z.number().int().nonnegative(),
  embedding: z.union([z.string(), z.array(z.number())]),
});

/** The success body of `POST /embeddings`. */
export const embeddingsResponseSchema = z.object({
  object: z.literal("list").optional(),
  data: z.array(embeddingItemSchema),
  model: z.string().optional(),
  usage: z
    .object({
      prompt_tokens: z.number().int().nonnegative(),
      total_tokens: z.number().int().nonnegative().optional(),
    })
    .optional(),
});

/** Parsed success body. */
export type EmbeddingsResponse = z.infer<typeof embeddingsResponseSchema>;

/** OpenAI's documented error body; every field but `message` may be null or absent. */
export const errorResponseSchema = z.object({
  error: z.object({
    message: z.string(),
    type: z.string().nullish(),
    param: z.string().nullish(),
    code: z.union([z.string(), z.number()]).nullish(),
  }),
});

/** Parsed error body. */
export type ErrorResponse = z.infer<typeof errorResponseSchema>;
