import { deepStrictEqual, strictEqual } from "node:assert";
import { launcherSymbols, launcherTables } from "./symbols.ts";
import { DISPATCHED_OPS } from "./dispatch_symbols.ts";

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

Deno.test("the set-up functions are dispatched, each in no table; the per-packet ones are bound", () => {
  for (const name of Object.keys(DISPATCHED_OPS)) {
    strictEqual(tableOf(name).length, 0, `${name} is dispatched and in a table`);
    strictEqual(name in launcherSymbols, true, `${name} is no launcher function`);
  }
  for (
    const name of [
      "wgl_tun_read_batch_vnet",
      "wgl_tun_write_batch_vnet",
      "wgl_udp_recv_batch_gro",
      "wgl_udp_send_batch_gso",
      "wgl_wait",
      "wgl_eventfd_signal",
    ]
  ) {
    strictEqual(tableOf(name).length > 0, true, `${name} is not bound of its own`);
    strictEqual(Object.hasOwn(DISPATCHED_OPS, name), false, `${name} is dispatched`);
  }
});

Deno.test("the operation numbers are distinct", () => {
  const ops = Object.values(DISPATCHED_OPS);
  strictEqual(new Set(ops).size, ops.length);
});
