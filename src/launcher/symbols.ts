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

/**
 * The SIGUSR1 claim and the process's protection are the first two things a
 * run (and `up`) does: one table, one dlopen (~0.1 ms) fewer.
 */
const firstSymbols = {
  ...sigusr1Symbols,
  ...protectSymbols,
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * The cage's functions that a run calls only with a terminal (the job
 * control's) or to pass on a signal: a table of their own, bound when first
 * used, not before the clone of every run (~0.2 ms).
 */
const { wgl_cage_signal, wgl_cage_resume, wgl_tty_reclaim, ...cageEveryRun } = cageSymbols;
const cageSometimes = {
  wgl_cage_signal,
  wgl_cage_resume,
  wgl_tty_reclaim,
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * The tables, each bound on its own when one of its functions is first used
 * (library.ts): binding costs ~0.1 ms a function, and a run needs some tables
 * only later and others never. A function missing from every table here is
 * bound with the rest of those, together. The fd functions come with the
 * cage's: every user of one uses the other, and `wgcage exec` would otherwise
 * bind them between the command's start and arming the signal forwarding.
 * (A run binds the cage's and the packet I/O's common table before the
 * clone, ~3 ms, for the few it calls there; binding the rest after the clone
 * instead only moved the time, as its main thread, not the cage's child,
 * is what the run waits for after the clone.)
 */
export const launcherTables: readonly Deno.ForeignLibraryInterface[] = [
  { ...cageEveryRun, ...fdSymbols },
  cageSometimes,
  wipeSymbols,
  startupCodeSymbols,
  packetIoCommonSymbols,
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
