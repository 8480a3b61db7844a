/**
 * @module vectors/npy
 * NumPy `.npy` (format 1.0) encoding of a 2-D matrix, so vectors written by
 * `embedkit embed --out x.npy` load with `numpy.load` unchanged. Pure: returns bytes.
 */
import { EmbedkitError } from "../errors.js";

type Row = Float32Array | Int8Array | Uint8Array;

const DESCRIPTORS = new Map<string, string>([
  ["Float32Array", "<f4"],
  ["Int8Array", "|i1"],
  ["Uint8Array", "|u1"],
]);

/** The `.npy` header for a row-major matrix of `rows × columns` of the given dtype descriptor. */
export function npyHeader(descriptor: string, rows: number, columns: number): Buffer {
  const dict = `{'descr': '${descriptor}', 'fortran_order': False, 'shape': (${rows}, ${columns}), }`;
  // magic(6) + version(2) + header length(2) + dict + padding + "\n" must be a multiple of 64.
  const unpadded = 10 + dict.length + 1;
  const padding = (64 - (unpadded % 64)) % 64;
  const header = `${dict}${" ".repeat(padding)}\n`;
  const out = Buffer.alloc(10 + header.length);
  out.write("\x93NUMPY", 0, "latin1");
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, "latin1");
  return out;
}

/**
 * Encode rows of equal length as one `.npy` file.
 * @throws EmbedkitError DIMENSION_MISMATCH when rows differ in length
 */
export function encodeNpy(rows: readonly Row[]): Buffer {
  const first = rows[0];
  const columns = first?.length ?? 0;
  const descriptor = first === undefined ? "<f4" : (DESCRIPTORS.get(first.constructor.name) ?? "<f4");
  const chunks: Buffer[] = [npyHeader(descriptor, rows.length, columns)];
  rows.forEach((row, i) => {
    if (row.length !== columns) {
      throw new EmbedkitError(
        "DIMENSION_MISMATCH",
        `Row ${i} has ${row.length} values, expected ${columns} like row 0.`,
      );
    }
    chunks.push(Buffer.from(row.buffer, row.byteOffset, row.byteLength));
  });
  return Buffer.concat(chunks);
}
