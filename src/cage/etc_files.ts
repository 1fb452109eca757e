/**
 * The generated /etc files of a cage. Their contents travel in the cage's
 * request; the cage's child writes them into a tmpfs of its own mount
 * namespace and binds them over the host's (launcher/cage.c), so they exist
 * nowhere on the host and nothing is left behind however wgcage ends.
 *
 * @module
 */

/** Contents of the files laid over the host's /etc in the cage. */
export interface EtcFiles {
  readonly resolvConf: string;
  readonly hosts: string;
  readonly nsswitchConf: string;
}
