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
import { joinSymbols } from "./join_symbols.ts";
import { controlSymbols } from "./control_symbols.ts";

export const launcherSymbols = {
  ...cageSymbols,
  ...fdSymbols,
  ...wipeSymbols,
  ...protectSymbols,
  ...packetIoSymbols,
  ...environSymbols,
  ...sigusr1Symbols,
  ...joinSymbols,
  ...controlSymbols,
  ...forwardSymbols,
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded launcher's functions. */
export type LauncherSymbols = Deno.DynamicLibrary<typeof launcherSymbols>["symbols"];
