/**
 * Finds the command before anything is built: a command that does not exist
 * fails at once with 127, as `env` does, instead of after a handshake. (The
 * cage shares the host's filesystem, so the answer is the same inside; the
 * cage's init still does the real lookup when it runs the command.)
 *
 * @module
 */

import { CageError, EXIT_NOT_FOUND } from "../cage/mod.ts";
import { quote } from "../cage/failure.ts";

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Throws a {@linkcode CageError} (127) when `command` is found nowhere. */
export function assertCommandExists(command: string, path = Deno.env.get("PATH") ?? ""): void {
  const found = command.includes("/")
    ? exists(command)
    : path.split(":").some((dir) => exists(`${dir === "" ? "." : dir}/${command}`));
  if (!found) {
    throw new CageError(
      `wgcage: Cannot run ${quote(command)}: command not found`,
      EXIT_NOT_FOUND,
    );
  }
}
