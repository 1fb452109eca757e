/**
 * A dispatched launcher function (dispatch_symbols.ts) as JavaScript calls
 * it: the same parameters and result as a function bound of its own, packed
 * into the words `wgl_call` reads (launcher/dispatch.h): the operation, then
 * each argument widened to 64 bits, a buffer as its address.
 *
 * @module
 */

type Kind = "int" | "uint" | "u64" | "buffer";

/** What a word is made from, for each parameter type the dispatched functions use. */
const KINDS: Readonly<Record<string, Kind>> = {
  i32: "int",
  u32: "uint",
  u64: "u64",
  buffer: "buffer",
};

/** The address of a buffer argument, 0 for null or an empty one (as a bound function gets). */
function address(buffer: unknown): bigint {
  if (buffer === null || buffer === undefined) return 0n;
  const p = Deno.UnsafePointer.of(buffer as BufferSource);
  return BigInt(Deno.UnsafePointer.value(p));
}

/**
 * The function `name`, of signature `def`, reached through the dispatcher:
 * `call` is the plain binding of `wgl_call`, `callNonblocking` the
 * nonblocking one (used when `def` is nonblocking). Throws for a signature
 * the dispatcher cannot carry (launcher/dispatch.c returns i32 only).
 */
export function dispatched(
  name: string,
  op: number,
  def: Deno.ForeignFunction,
  call: () => (words: BigInt64Array) => number,
  callNonblocking: () => (words: BigInt64Array) => Promise<number>,
): (...args: unknown[]) => number | Promise<number> {
  if (def.result !== "i32") throw new Error(`${name}: a dispatched function returns i32`);
  const kinds = def.parameters.map((p) => {
    const kind = typeof p === "string" ? KINDS[p] : undefined;
    if (kind === undefined) {
      throw new Error(`${name}: no dispatch for a ${JSON.stringify(p)} parameter`);
    }
    return kind;
  });
  const pack = (args: unknown[]): BigInt64Array => {
    if (args.length !== kinds.length) {
      throw new TypeError(`${name} takes ${kinds.length} arguments, not ${args.length}`);
    }
    const words = new BigInt64Array(1 + kinds.length);
    words[0] = BigInt(op);
    for (let i = 0; i < kinds.length; i++) {
      const arg = args[i];
      switch (kinds[i]) {
        case "int":
          words[i + 1] = BigInt((arg as number) | 0);
          break;
        case "uint":
          words[i + 1] = BigInt((arg as number) >>> 0);
          break;
        case "u64":
          words[i + 1] = BigInt.asIntN(64, BigInt(arg as number | bigint));
          break;
        case "buffer":
          words[i + 1] = address(arg);
          break;
      }
    }
    return words;
  };
  if (def.nonblocking) {
    // The call runs on another thread while JavaScript goes on: the words and
    // the buffers they point into stay referenced until it returns.
    return (...args) => {
      const words = pack(args);
      return callNonblocking()(words).finally(() => [words, args]);
    };
  }
  return (...args) => call()(pack(args));
}
