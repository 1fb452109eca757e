/**
 * Every export of the launcher library: one table per C file, merged into
 * the one interface the library is opened with.
 *
 * @module
 */

import { cageSymbols } from "./cage_symbols.ts";
import { environSymbols } from "./environ_symbols.ts";
import { fdSymbols } from "./fd_symbols.ts";
import { forwardSymbols } from "./forward_symbols.ts";
import {
  packetIoCommonSymbols,
  packetIoSymbols,
  packetIoTunPlainSymbols,
  packetIoTunVnetSymbols,
  packetIoUdpGroSymbols,
  packetIoUdpPlainSymbols,
} from "./packet_io_symbols.ts";
import { protectSymbols } from "./protect_symbols.ts";
import { sigusr1Symbols } from "./sigusr1_symbols.ts";
import { wipeSymbols } from "./wipe_symbols.ts";
import { startupCodeSymbols } from "./startup_code_symbols.ts";
import { joinSymbols } from "./join_symbols.ts";
import { controlSymbols } from "./control_symbols.ts";
import { udpProbeSymbols } from "./udp_probe_symbols.ts";
import { parentDeathSymbols } from "./parent_death_symbols.ts";

/** `table` without the functions named in `names`. */
function without<T extends Deno.ForeignLibraryInterface>(
  table: T,
  names: readonly (keyof T)[],
): Deno.ForeignLibraryInterface {
  return Object.fromEntries(Object.entries(table).filter(([name]) => !names.includes(name)));
}

/**
 * What a run calls before its cage is cloned, in tables of their own: the
 * clone waits for every function bound before it, and the rest of their C
 * files' functions (~2 ms to bind) are bound right after it, while the
 * cage's child sets itself up. `wgl_fd_close` comes with the clone's:
 * `wgcage exec` (which opens the init's fd too) closes fds right after its
 * command starts, before it arms the signal forwarding.
 */
const cloneSymbols = {
  wgl_cage_open: cageSymbols.wgl_cage_open,
  wgl_fd_open_program: fdSymbols.wgl_fd_open_program,
  wgl_fd_close: fdSymbols.wgl_fd_close,
} as const satisfies Deno.ForeignLibraryInterface;
/**
 * The SIGUSR1 claim and the process's protection are the first two things a
 * run (and `up`) does: one table, one dlopen (~0.1 ms) fewer.
 */
const firstSymbols = {
  ...sigusr1Symbols,
  ...protectSymbols,
} as const satisfies Deno.ForeignLibraryInterface;
const vnetWishSymbols = {
  wgl_tun_want_vnet_hdr: packetIoCommonSymbols.wgl_tun_want_vnet_hdr,
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * The tables, each bound on its own when one of its functions is first used
 * (library.ts): binding costs ~0.1 ms a function, and a run needs some tables
 * only later and others never. A function missing from every table here is
 * bound with the rest of those, together. The other fd functions come with
 * the cage's other ones: every user of one uses the other. No function is in
 * two tables.
 */
export const launcherTables: readonly Deno.ForeignLibraryInterface[] = [
  cloneSymbols,
  without(
    { ...cageSymbols, ...fdSymbols },
    Object.keys(cloneSymbols) as (keyof typeof cloneSymbols)[],
  ),
  wipeSymbols,
  startupCodeSymbols,
  vnetWishSymbols,
  without(packetIoCommonSymbols, ["wgl_tun_want_vnet_hdr"]),
  packetIoTunVnetSymbols,
  packetIoTunPlainSymbols,
  packetIoUdpGroSymbols,
  packetIoUdpPlainSymbols,
  environSymbols,
  firstSymbols,
  joinSymbols,
  controlSymbols,
  forwardSymbols,
  udpProbeSymbols,
  parentDeathSymbols,
];

export const launcherSymbols = {
  ...cageSymbols,
  ...fdSymbols,
  ...wipeSymbols,
  ...startupCodeSymbols,
  ...protectSymbols,
  ...packetIoSymbols,
  ...environSymbols,
  ...sigusr1Symbols,
  ...joinSymbols,
  ...controlSymbols,
  ...forwardSymbols,
  ...udpProbeSymbols,
  ...parentDeathSymbols,
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded launcher's functions. */
export type LauncherSymbols = Deno.DynamicLibrary<typeof launcherSymbols>["symbols"];
