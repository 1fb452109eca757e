/**
 * The launcher's dispatchers, for set-up (launcher/dispatch.c,
 * src/launcher/dispatch*.ts) and for the data path's batch I/O
 * (launcher/batch_io.c, src/launcher/batch_io_symbols.ts): the C and the
 * TypeScript lists of operations agree, each case calls the function of its
 * name (with as many arguments as its TypeScript signature has, for
 * set-up), and calls through the real library reach the real functions.
 */
import { deepStrictEqual, strictEqual } from "node:assert";
import { DISPATCHED_OPS } from "../src/launcher/dispatch_symbols.ts";
import { BATCH_IO_OPS } from "../src/launcher/batch_io_symbols.ts";
import { launcherSymbols } from "../src/launcher/symbols.ts";
import { launcher, prepareLauncher } from "../src/launcher/library.ts";

const ENOENT = 2;
const EBADF = 9;
const EINVAL = 22;
const ECHILD = 10;
const ENOSYS = 38;

const root = new URL("../launcher/", import.meta.url);
const header = await Deno.readTextFile(new URL("dispatch.h", root));
const source = await Deno.readTextFile(new URL("dispatch.c", root));
const batchHeader = await Deno.readTextFile(new URL("batch_io.h", root));
const batchSource = await Deno.readTextFile(new URL("batch_io.c", root));

/** `WGL_OP_CAGE_OPEN` → `wgl_cage_open`. */
function functionOf(op: string): string {
  return `wgl_${op.slice("WGL_OP_".length).toLowerCase()}`;
}

Deno.test("dispatch.h numbers the same operations as DISPATCHED_OPS", () => {
  const inC = Object.fromEntries(
    [...header.matchAll(/^\s*(WGL_OP_[A-Z0-9_]+) = (\d+),$/gm)].map((
      [, op, n],
    ) => [functionOf(op), Number(n)]),
  );
  deepStrictEqual(inC, { ...DISPATCHED_OPS });
});

Deno.test("each case of wgl_call calls its own function with every argument", () => {
  const cases = [
    ...source.matchAll(/case (WGL_OP_[A-Z0-9_]+):\s*return (wgl_[a-z0-9_]+)\(([^;]*)\);/g),
  ];
  strictEqual(cases.length, Object.keys(DISPATCHED_OPS).length);
  for (const [, op, called, args] of cases) {
    const name = functionOf(op);
    strictEqual(called, name, `${op} calls ${called}`);
    const def = launcherSymbols[name as keyof typeof launcherSymbols];
    const count = args.trim() === "" ? 0 : args.split(",").length;
    strictEqual(count, def.parameters.length, `${name}: ${count} arguments in C`);
    // w[1..n] in order: the k-th argument reads w[k].
    const words = [...args.matchAll(/w\[(\d+)\]/g)].map(([, k]) => Number(k));
    deepStrictEqual(words, def.parameters.map((_, i) => i + 1), name);
  }
});

Deno.test("calls through the real library reach the real functions", async () => {
  await prepareLauncher();
  const ffi = launcher();
  strictEqual(ffi.wgl_fd_close(-1), -EBADF);
  // A nonblocking one: no child of that pid.
  strictEqual(await ffi.wgl_cage_wait(0x7fff_fffe), -ECHILD);
  // A buffer argument: the program at a path that is no file is refused.
  const path = new TextEncoder().encode("/nonexistent/wgcage-dispatch-test\0");
  strictEqual(ffi.wgl_fd_open_program(path), -ENOENT);
  // An operation this build does not have.
  strictEqual(ffi.wgl_call(new BigInt64Array([9999n])), -ENOSYS);
});

Deno.test("batch_io.h numbers the operations as BATCH_IO_OPS, and each case calls its own function", () => {
  const numbers = new Map(
    [...batchHeader.matchAll(/^\s*(WGL_BATCH_[A-Z0-9_]+) = (\d+),$/gm)].map((
      [, op, n],
    ) => [op, Number(n)]),
  );
  strictEqual(numbers.size, Object.keys(BATCH_IO_OPS).length);
  const cases = [
    ...batchSource.matchAll(
      /case (WGL_BATCH_[A-Z0-9_]+):\s*(?:if [^;]*;\s*)?return (wgl_[a-z0-9_]+)\(/g,
    ),
  ];
  strictEqual(cases.length, numbers.size);
  for (const [, op, called] of cases) {
    strictEqual(
      BATCH_IO_OPS[called as keyof typeof BATCH_IO_OPS],
      numbers.get(op),
      `${op} (${numbers.get(op)}) calls ${called}`,
    );
  }
});

Deno.test("batch I/O through the real library reaches the real functions", async () => {
  await prepareLauncher();
  const ffi = launcher();
  const wake = ffi.wgl_eventfd();
  try {
    strictEqual(ffi.wgl_eventfd_signal(wake), 0);
    // Bit 2: the eventfd was signalled (and is drained).
    strictEqual(await ffi.wgl_wait(-1, -1, wake, 1000), 4);
    const none = new Uint8Array(0);
    // A GSO send's state shorter than its word, and an operation this build does not have.
    strictEqual(
      ffi.wgl_batch_io(BATCH_IO_OPS.wgl_udp_send_batch_gso, wake, none, 0, none, 0, 0, none, 0),
      -EINVAL,
    );
    strictEqual(ffi.wgl_batch_io(9999, wake, none, 0, none, 0, 0, none, 0), -EINVAL);
  } finally {
    ffi.wgl_fd_close(wake);
  }
});
