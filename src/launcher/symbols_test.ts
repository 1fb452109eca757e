import { deepStrictEqual, strictEqual } from "node:assert";
import { launcherSymbols, launcherTables } from "./symbols.ts";
import { DISPATCHED_OPS } from "./dispatch_symbols.ts";
import { BATCH_IO_OPS } from "./batch_io_symbols.ts";

Deno.test("no launcher function is in two tables, and each has its signature", () => {
  const seen = new Map<string, number>();
  launcherTables.forEach((table, i) => {
    for (const [name, signature] of Object.entries(table)) {
      strictEqual(seen.get(name), undefined, `${name} is in tables ${seen.get(name)} and ${i}`);
      seen.set(name, i);
      deepStrictEqual(signature, launcherSymbols[name as keyof typeof launcherSymbols], name);
    }
  });
});

/** The names in the table that holds `name`. */
function tableOf(name: string): string[] {
  const table = launcherTables.find((t) => name in t);
  return table === undefined ? [] : Object.keys(table).sort();
}

Deno.test("the set-up functions are dispatched, the batch I/O batched, each in no table; the rest of a turn is bound", () => {
  for (const name of [...Object.keys(DISPATCHED_OPS), ...Object.keys(BATCH_IO_OPS)]) {
    strictEqual(tableOf(name).length, 0, `${name} is dispatched or batched, and in a table`);
    strictEqual(name in launcherSymbols, true, `${name} is no launcher function`);
  }
  for (const name of Object.keys(BATCH_IO_OPS)) {
    strictEqual(Object.hasOwn(DISPATCHED_OPS, name), false, `${name} is dispatched and batched`);
  }
  // What a turn calls besides, in one table: one binding for all of it.
  deepStrictEqual(tableOf("wgl_wait"), ["wgl_batch_io", "wgl_wait"]);
});

Deno.test("the operation numbers are distinct", () => {
  for (const list of [DISPATCHED_OPS, BATCH_IO_OPS]) {
    const ops = Object.values(list);
    strictEqual(new Set(ops).size, ops.length);
  }
});
