/**
 * `--socks-auth FILE`: the SOCKS proxy's username and password (RFC 1929),
 * one line `USERNAME:PASSWORD` in a file rather than on the command line,
 * where every local user could read it in /proc. Neither ever appears in a
 * message.
 *
 * @module
 */

import { ConfigError } from "../config/config_error.ts";
import type { SocksCredentials } from "./socks.ts";

/** A login file is a line; anything longer is not one. */
const MAX_BYTES = 1024;

/**
 * Parses the file's bytes. Throws a `TypeError` with a short reason that
 * quotes nothing of the file.
 */
export function parseSocksAuth(bytes: Uint8Array): SocksCredentials {
  let end = bytes.indexOf(0x0a);
  if (end < 0) end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  const line = bytes.subarray(0, end);
  const colon = line.indexOf(0x3a);
  if (colon < 0) throw new TypeError("its first line is not USERNAME:PASSWORD");
  const username = line.slice(0, colon);
  const password = line.slice(colon + 1);
  if (
    username.length < 1 || username.length > 255 || password.length < 1 || password.length > 255
  ) {
    throw new TypeError("the username and the password must each be 1-255 bytes");
  }
  return { username, password };
}

/** Reads `--socks-auth`'s file; throws a {@linkcode ConfigError} (125). */
export function readSocksAuth(path: string, warn: (line: string) => void): SocksCredentials {
  let bytes: Uint8Array;
  try {
    const info = Deno.statSync(path);
    if (!info.isFile) throw new TypeError("it is not a regular file");
    if (info.size > MAX_BYTES) throw new TypeError(`it is over ${MAX_BYTES} bytes`);
    if (info.mode !== null && (info.mode & 0o077) !== 0) {
      warn(
        `wgcage: Warning: '${path}' is accessible by other users (mode ${
          (info.mode & 0o777).toString(8).padStart(4, "0")
        }); run 'chmod 600 ${path}' to keep the proxy's password private`,
      );
    }
    bytes = Deno.readFileSync(path);
    try {
      return parseSocksAuth(bytes);
    } finally {
      bytes.fill(0);
    }
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "no such file"
      : e instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : (e as Error).message;
    throw new ConfigError(
      `wgcage: Cannot use --socks-auth '${path}': ${why}; give a file whose first line is ` +
        "USERNAME:PASSWORD, mode 0600",
    );
  }
}
