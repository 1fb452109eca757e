import { deepStrictEqual, strictEqual } from "node:assert";
import { lazySymbols } from "./library.ts";
import { launcherSymbols, launcherTables } from "./symbols.ts";

/** lazySymbols with a fake binder: each function is its own name; records the tables bound. */
function fakeLauncher() {
  const bound: string[][] = [];
  const symbols = lazySymbols((table) => {
    const names = Object.keys(table);
    bound.push(names);
    return Object.fromEntries(names.map((name) => [name, name]));
  }) as unknown as Record<string, string>;
  return { symbols, bound };
}

Deno.test("lazySymbols binds nothing until a function is used, then that function's table once", () => {
  const { symbols, bound } = fakeLauncher();
  strictEqual(bound.length, 0);
  strictEqual(symbols.wgl_cage_open, "wgl_cage_open");
  strictEqual(symbols.wgl_fd_open_program, "wgl_fd_open_program");
  deepStrictEqual(bound, [Object.keys(launcherTables.find((t) => "wgl_cage_open" in t)!)]);
});

Deno.test("lazySymbols gives every launcher function, each table bound once", () => {
  const { symbols, bound } = fakeLauncher();
  for (const name of Object.keys(launcherSymbols)) strictEqual(symbols[name], name);
  strictEqual(bound.length, launcherTables.length);
  deepStrictEqual(bound.flat().toSorted(), Object.keys(launcherSymbols).toSorted());
});
