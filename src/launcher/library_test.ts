import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { lazySymbols } from "./library.ts";
import { launcherSymbols, launcherTables } from "./symbols.ts";
import { DISPATCHED_OPS } from "./dispatch_symbols.ts";
import { BATCH_IO_OPS } from "./batch_io_symbols.ts";

/**
 * lazySymbols with a fake binder: each function is its own name, but
 * wgl_call, which records the words it is given, and wgl_batch_io, which
 * records its arguments; records the tables bound.
 */
function fakeLauncher() {
  const bound: string[][] = [];
  const calls: bigint[][] = [];
  const batchCalls: unknown[][] = [];
  const symbols = lazySymbols((table) => {
    const names = Object.keys(table);
    bound.push(names);
    return Object.fromEntries(names.map((name) => [
      name,
      name === "wgl_call"
        ? (words: BigInt64Array) => {
          calls.push([...words]);
          return 7;
        }
        : name === "wgl_call_nonblocking"
        ? (words: BigInt64Array) => {
          calls.push([...words]);
          return Promise.resolve(8);
        }
        : name === "wgl_batch_io"
        ? (...args: unknown[]) => {
          batchCalls.push(args);
          return 9;
        }
        : name,
    ]));
  }) as unknown as Record<string, unknown>;
  return { symbols, bound, calls, batchCalls };
}

const dispatchedNames = new Set(Object.keys(DISPATCHED_OPS));
const batchedNames = new Set(Object.keys(BATCH_IO_OPS));

Deno.test("lazySymbols binds nothing until a function is used, then that function's table once", () => {
  const { symbols, bound } = fakeLauncher();
  strictEqual(bound.length, 0);
  const table = launcherTables.find((t) => "wgl_udp_probe" in t)!;
  const [first, second] = Object.keys(table);
  strictEqual(symbols[first], first);
  strictEqual(symbols[second], second);
  deepStrictEqual(bound, [Object.keys(table)]);
});

Deno.test("lazySymbols gives every launcher function, each table bound once", () => {
  const { symbols, bound } = fakeLauncher();
  for (const name of Object.keys(launcherSymbols)) {
    if (dispatchedNames.has(name) || batchedNames.has(name)) {
      strictEqual(typeof symbols[name], "function", name);
    } else if (name.startsWith("wgl_call") || name === "wgl_batch_io") {
      strictEqual(typeof symbols[name], "function", name);
    } else strictEqual(symbols[name], name);
  }
  strictEqual(bound.length, launcherTables.length);
  deepStrictEqual(
    bound.flat().toSorted(),
    Object.keys(launcherSymbols).filter((n) => !dispatchedNames.has(n) && !batchedNames.has(n))
      .toSorted(),
  );
});

Deno.test("a batch function binds the data path's table alone, and passes its operation and arguments", () => {
  const { symbols, bound, batchCalls } = fakeLauncher();
  const fn = symbols as unknown as {
    wgl_tun_read_batch_vnet(...a: unknown[]): number;
    wgl_tun_write_batch(...a: unknown[]): number;
    wgl_udp_send_batch_gso(...a: unknown[]): number;
    wgl_eventfd_signal(fd: number): number;
  };
  const slots = new Uint8Array(64);
  const desc = new Uint32Array(8);
  const scratch = new Uint8Array(16);
  const state = new Uint32Array(1);
  strictEqual(fn.wgl_tun_read_batch_vnet(3, slots, 32, desc, 2, 16, scratch, 16), 9);
  strictEqual(fn.wgl_tun_write_batch(3, slots, 32, desc, 1), 9);
  strictEqual(fn.wgl_udp_send_batch_gso(4, slots, 32, desc, 2, state), 9);
  strictEqual(fn.wgl_eventfd_signal(5), 9);
  deepStrictEqual(bound, [Object.keys(launcherTables.find((t) => "wgl_batch_io" in t)!)]);
  const none = new Uint8Array(0);
  deepStrictEqual(batchCalls, [
    [BATCH_IO_OPS.wgl_tun_read_batch_vnet, 3, slots, 32, desc, 2, 16, scratch, 16],
    [BATCH_IO_OPS.wgl_tun_write_batch, 3, slots, 32, desc, 1, 0, none, 0],
    [BATCH_IO_OPS.wgl_udp_send_batch_gso, 4, slots, 32, desc, 2, 0, state, 4],
    [BATCH_IO_OPS.wgl_eventfd_signal, 5, none, 0, none, 0, 0, none, 0],
  ]);
});

Deno.test("a dispatched function binds only wgl_call, and passes its operation and arguments", async () => {
  const { symbols, bound, calls } = fakeLauncher();
  const fn = symbols as unknown as {
    wgl_fd_set_recv_timeout(fd: number, ms: number): number;
    wgl_cage_signal(pid: number, sig: number): number;
    wgl_wipe_resident(buf: Uint8Array, len: bigint): number;
    wgl_cage_wait(pid: number): Promise<number>;
  };
  strictEqual(fn.wgl_fd_set_recv_timeout(5, 0xFFFF_FFFF), 7);
  strictEqual(fn.wgl_cage_signal(-1, 9), 7);
  const buf = new Uint8Array(16);
  strictEqual(fn.wgl_wipe_resident(buf.subarray(4), 12n), 7);
  strictEqual(await fn.wgl_cage_wait(42), 8);
  deepStrictEqual(bound, [Object.keys(launcherTables.find((t) => "wgl_call" in t)!)]);
  deepStrictEqual(calls[0], [BigInt(DISPATCHED_OPS.wgl_fd_set_recv_timeout), 5n, 0xFFFF_FFFFn]);
  deepStrictEqual(calls[1], [BigInt(DISPATCHED_OPS.wgl_cage_signal), -1n, 9n]);
  const base = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
  deepStrictEqual(calls[2], [BigInt(DISPATCHED_OPS.wgl_wipe_resident), base + 4n, 12n]);
  deepStrictEqual(calls[3], [BigInt(DISPATCHED_OPS.wgl_cage_wait), 42n]);
});

Deno.test("a dispatched function refuses a wrong number of arguments", () => {
  const { symbols } = fakeLauncher();
  const close = symbols.wgl_fd_close as (...args: unknown[]) => number;
  throws(() => close(), /takes 1 arguments, not 0/);
});
