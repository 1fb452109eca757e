/**
 * Reads the host's /etc/resolv.conf, the one impure part of src/dns/.
 *
 * @module
 */

/**
 * The text of the host's resolv.conf, or undefined when there is none (also
 * when it is a symlink to a missing file, as when systemd-resolved is not
 * running). Other failures throw one-line errors.
 */
export function readHostResolvConf(path = "/etc/resolv.conf"): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new Error(
        `Cannot read ${path}: permission denied; make it readable, or set DNS = in the [Interface] section or pass --wg-dns`,
      );
    }
    throw new Error(`Cannot read ${path}: ${(error as Error).message}`);
  }
}
