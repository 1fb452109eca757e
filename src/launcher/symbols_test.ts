import { deepStrictEqual, strictEqual } from "node:assert";
import { launcherSymbols, launcherTables } from "./symbols.ts";

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

Deno.test("the SIGUSR1 claim and the protection, every run's first two calls, are one table", () => {
  deepStrictEqual(tableOf("wgl_process_protect"), [
    "wgl_process_protect",
    "wgl_sigusr1_claim",
    "wgl_sigusr1_forward",
    "wgl_sigusr1_state",
  ]);
});

Deno.test("a run without a terminal or a signal to pass on binds none of their cage functions", () => {
  deepStrictEqual(tableOf("wgl_tty_reclaim"), [
    "wgl_cage_resume",
    "wgl_cage_signal",
    "wgl_tty_reclaim",
  ]);
  strictEqual(tableOf("wgl_cage_open").includes("wgl_fd_close"), true);
});
