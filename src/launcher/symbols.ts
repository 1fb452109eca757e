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
import { packetIoSymbols } from "./packet_io_symbols.ts";
import { protectSymbols } from "./protect_symbols.ts";
import { sigusr1Symbols } from "./sigusr1_symbols.ts";
import { wipeSymbols } from "./wipe_symbols.ts";
import { startupCodeSymbols } from "./startup_code_symbols.ts";
import { joinSymbols } from "./join_symbols.ts";
import { controlSymbols } from "./control_symbols.ts";
import { udpProbeSymbols } from "./udp_probe_symbols.ts";
import { parentDeathSymbols } from "./parent_death_symbols.ts";
import { dispatchSymbols } from "./dispatch_symbols.ts";
import { batchIoSymbols } from "./batch_io_symbols.ts";

/**
 * What a data path turn calls: the batch I/O, through its one binding
 * (batch_io_symbols.ts), and the wait, nonblocking. The rest of
 * packet_io_symbols.ts's functions are set-up, dispatched.
 */
const packetIoEveryTurn = {
  ...batchIoSymbols,
  wgl_wait: packetIoSymbols.wgl_wait,
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * The tables, each bound on its own when one of its functions is first used
 * (library.ts): binding costs ~0.1 ms a function, and a run needs some tables
 * only later and others never. The functions of `DISPATCHED_OPS`
 * (dispatch_symbols.ts) are in none: they are reached through `wgl_call`,
 * bound once for all of them; nor those of `BATCH_IO_OPS`
 * (batch_io_symbols.ts), reached through `wgl_batch_io`. A function in
 * none of these is bound with the rest of those, together.
 */
export const launcherTables: readonly Deno.ForeignLibraryInterface[] = [
  dispatchSymbols,
  packetIoEveryTurn,
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
  ...batchIoSymbols,
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
