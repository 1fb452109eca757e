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

Deno.test("a run binds only what it calls before the clone: the rest comes after", () => {
  // Cage.begin: the init's fd, then the clone (and exec's fd closes right
  // after its command starts).
  deepStrictEqual(tableOf("wgl_cage_open"), [
    "wgl_cage_open",
    "wgl_fd_close",
    "wgl_fd_open_program",
  ]);
  deepStrictEqual(tableOf("wgl_fd_open_program"), tableOf("wgl_cage_open"));
  // Tunnel.open asks for the TUN's virtio header just before the clone.
  deepStrictEqual(tableOf("wgl_tun_want_vnet_hdr"), ["wgl_tun_want_vnet_hdr"]);
  // Every run's first two calls, the SIGUSR1 claim and the protection, are one table.
  deepStrictEqual(tableOf("wgl_process_protect"), [
    "wgl_process_protect",
    "wgl_sigusr1_claim",
    "wgl_sigusr1_forward",
    "wgl_sigusr1_state",
  ]);
  // What comes after the clone is still bound together with its C file's others.
  strictEqual(tableOf("wgl_cage_await_fds").includes("wgl_fd_set_recv_timeout"), true);
  strictEqual(tableOf("wgl_udp_open").includes("wgl_udp_send_batch_gso"), true);
});
