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
import { dispatchSymbols } from "./dispatch_symbols.ts";

/**
 * The common packet I/O functions a data path turn calls: bound of their own,
 * as the batch I/O is, where a call costs least. The rest of that table is
 * set-up, dispatched.
 */
const { wgl_udp_send_batch_gso, wgl_eventfd_signal, wgl_wait } = packetIoCommonSymbols;
const packetIoEveryTurn = {
  wgl_udp_send_batch_gso,
  wgl_eventfd_signal,
  wgl_wait,
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * The tables, each bound on its own when one of its functions is first used
 * (library.ts): binding costs ~0.1 ms a function, and a run needs some tables
 * only later and others never. The functions of `DISPATCHED_OPS`
 * (dispatch_symbols.ts) are in none: they are reached through `wgl_call`,
 * bound once for all of them. A function in neither is bound with the rest
 * of those, together.
 */
export const launcherTables: readonly Deno.ForeignLibraryInterface[] = [
  dispatchSymbols,
  packetIoEveryTurn,
  packetIoTunVnetSymbols,
  packetIoTunPlainSymbols,
  packetIoUdpGroSymbols,
  packetIoUdpPlainSymbols,
  joinSymbols,
  controlSymbols,
  forwardSymbols,
  udpProbeSymbols,
];

export const launcherSymbols = {
  ...dispatchSymbols,
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
