/**
 * Reading a config or key file, or standard input, without trusting its size:
 * `--config /dev/zero`, a FIFO or an endless pipe must not grow wgcage until
 * the kernel kills it. At most one byte more than the limit is read, which is
 * enough to tell that the input is too large.
 *
 * @module
 */

/** The largest config or key file wgcage reads: far more than any config needs. */
export const MAX_INPUT_BYTES = 1024 * 1024;

/** How a limit is written in messages. */
export const MAX_INPUT_SHOWN = "1 MiB";

/** Anything with a `read` like `Deno.FsFile` and `Deno.stdin`. */
export interface ByteReader {
  read(buffer: Uint8Array): Promise<number | null>;
}

/**
 * Reads until the end or until `maxBytes` bytes, whichever comes first.
 * Buffers that are outgrown are zeroed: they may hold keys.
 *
 * @example
 * ```ts
 * import { readAtMost } from "./read_limited.ts";
 * using zero = await Deno.open("/dev/zero");
 * (await readAtMost(zero, 100)).length; // 100
 * ```
 */
export async function readAtMost(reader: ByteReader, maxBytes: number): Promise<Uint8Array> {
  let buffer = new Uint8Array(Math.min(64 * 1024, maxBytes));
  let length = 0;
  while (length < maxBytes) {
    if (length === buffer.length) {
      const bigger = new Uint8Array(Math.min(buffer.length * 2, maxBytes));
      bigger.set(buffer);
      buffer.fill(0);
      buffer = bigger;
    }
    const n = await reader.read(buffer.subarray(length));
    if (n === null) break;
    length += n;
  }
  return buffer.subarray(0, length);
}

/**
 * At most `maxBytes` bytes of a file. A directory is refused with
 * `Deno.errors.IsADirectory`, as `Deno.readFile` does. The file is read with
 * Deno's synchronous calls: each asynchronous one hands the work to another
 * thread and back, ~0.3 ms of start-up apiece on a busy machine, and nothing
 * else has to run meanwhile (a FIFO's writer is another process).
 */
export async function readFileAtMost(path: string, maxBytes: number): Promise<Uint8Array> {
  const file = Deno.openSync(path);
  try {
    if (file.statSync().isDirectory) throw new Deno.errors.IsADirectory(`'${path}'`);
    return await readAtMost({ read: (buffer) => Promise.resolve(file.readSync(buffer)) }, maxBytes);
  } finally {
    file.close();
  }
}
