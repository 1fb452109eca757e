/**
 * The launcher's stages (launcher/cage.h `enum wgl_cage_stage`): where a
 * cage failed, reported with an errno.
 *
 * @module
 */

/** Mirrors `enum wgl_cage_stage`; the numbers are the contract. */
export const Stage = {
  None: 0,
  Request: 1,
  Clone: 2,
  Maps: 3,
  Sync: 4,
  MountPrivate: 5,
  TunOpen: 6,
  TunSetIff: 7,
  Netlink: 8,
  Hostname: 9,
  BindResolvConf: 10,
  BindHosts: 11,
  BindNsswitch: 12,
  Proc: 13,
  PingGroupRange: 14,
  Fork: 15,
  Credentials: 16,
  Exec: 17,
  Hide: 18,
  EtcFiles: 19,
  Confine: 20,
  InitExec: 21,
  Service: 22,
} as const;

/** One of the {@linkcode Stage} values. */
export type StageNumber = (typeof Stage)[keyof typeof Stage];

/** Mirrors `enum wgl_cage_out`: the words `wgl_cage_open` fills in. */
export const OutWord = {
  Pid: 0,
  Sync: 1,
  Tun: 2,
  Netlink: 3,
  Stage: 4,
  Errno: 5,
  Mode: 6,
  Tty: 7,
  Service: 8,
  Count: 9,
} as const;

/** How the cage gets its privileges (`WGL_OUT_MODE`). */
export type CageMode = "userns" | "root" | "sudo";

/** The mode for a `WGL_OUT_MODE` value. */
export function cageMode(word: number): CageMode {
  return word === 1 ? "root" : word === 2 ? "sudo" : "userns";
}
