/**
 * @module models/protobuf
 * A minimal protobuf wire-format reader for the model formats embedkit reads
 * without a protobuf dependency (ONNX graphs, SentencePiece models): iterate
 * the top-level fields of one message, with each field's byte range so a
 * caller can copy fields it keeps verbatim. Length-delimited payloads are
 * `subarray` views, never copies, so walking a 70 MB graph costs no memory.
 * Nested messages are read by iterating the payload again.
 */

/** One field of a protobuf message. */
export interface ProtobufField {
  /** Field number. */
  readonly number: number;
  /** Wire type: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. */
  readonly wireType: 0 | 1 | 2 | 5;
  /** Varint value (wire type 0; exact up to 2^53). */
  readonly value?: number;
  /** Payload of a length-delimited field (wire type 2), a view into the message. */
  readonly bytes?: Uint8Array;
  /** Little-endian float of a fixed32 field (wire type 5). */
  readonly float?: number;
  /** Offset of the field's key in the message. */
  readonly start: number;
  /** Offset just past the field. */
  readonly end: number;
}

/**
 * Iterate the top-level fields of one protobuf message.
 * @throws Error on a truncated message or an unsupported (group) wire type
 */
export function* protobufFields(message: Uint8Array): Generator<ProtobufField> {
  let position = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      const byte = message[position++];
      if (byte === undefined) throw new Error("truncated varint");
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
  };
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  while (position < message.length) {
    const start = position;
    const key = varint();
    const number = Math.floor(key / 8);
    const wireType = key % 8;
    if (wireType === 0) {
      const value = varint();
      yield { number, wireType, value, start, end: position };
    } else if (wireType === 1) {
      position += 8;
      if (position > message.length) throw new Error("truncated fixed64 field");
      yield { number, wireType, start, end: position };
    } else if (wireType === 5) {
      if (position + 4 > message.length) throw new Error("truncated fixed32 field");
      const float = view.getFloat32(position, true);
      position += 4;
      yield { number, wireType, float, start, end: position };
    } else if (wireType === 2) {
      const length = varint();
      if (position + length > message.length) throw new Error("truncated length-delimited field");
      const bytes = message.subarray(position, position + length);
      position += length;
      yield { number, wireType, bytes, start, end: position };
    } else throw new Error(`unsupported protobuf wire type ${wireType}`);
  }
}

/** The payload of the first length-delimited field `number`, or undefined. */
export function protobufChild(message: Uint8Array, number: number): Uint8Array | undefined {
  for (const field of protobufFields(message)) if (field.number === number && field.bytes) return field.bytes;
  return undefined;
}

/** UTF-8 text of the first length-delimited field `number`, or undefined. */
export function protobufString(message: Uint8Array, number: number): string | undefined {
  const bytes = protobufChild(message, number);
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}
