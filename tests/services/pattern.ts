/**
 * The deterministic byte pattern the data service sends: byte i of a
 * response is `(i * 31 + 7) & 0xff`. It repeats every 256 bytes, so a chunk
 * that starts at a multiple of 256 can be reused for the whole stream.
 *
 * @module
 */

/** Byte `i` of the pattern. */
export function patternByte(i: number): number {
  return (i * 31 + 7) & 0xff;
}

/** A chunk of the pattern starting at stream offset 0 (length rounded up to 256). */
export function patternChunk(length: number): Uint8Array {
  const chunk = new Uint8Array(Math.ceil(length / 256) * 256);
  for (let i = 0; i < chunk.length; i++) chunk[i] = patternByte(i);
  return chunk;
}

/**
 * Index within `bytes` of the first byte that differs from the pattern when
 * `bytes` starts at stream offset `offset`; -1 when all match.
 */
export function findPatternMismatch(bytes: Uint8Array, offset: number): number {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== patternByte(offset + i)) return i;
  }
  return -1;
}
