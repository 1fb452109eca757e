/**
 * The cage: run a command in its own namespaces whose only network is a TUN
 * device that wgcage holds.
 *
 * @module
 */

export { Cage, type CageSpec } from "./cage.ts";
export { CageError, EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND, EXIT_REFUSED } from "./error.ts";
export type { EtcFiles } from "./etc_files.ts";
export { FORWARDED_SIGNALS, forwardSignals, type SignalName } from "./signals.ts";
export type { CageMode } from "./stage.ts";
export { protectProcess } from "./protect.ts";
