/**
 * Finds the command before anything is built: a command that does not exist
 * fails at once with 127, as `env` does, instead of after a handshake. (The
 * cage shares the host's filesystem, so the answer is the same inside; the
 * cage's init still does the real lookup when it runs the command.)
 *
 * The statuses and words follow `env` and execvp: a directory is 126 ("is a
 * directory"), a script whose `#!` interpreter is missing is 127 and names the
 * interpreter (the kernel's ENOENT would otherwise blame the script itself).
 *
 * @module
 */

import { CageError, EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND } from "../cage/mod.ts";
import { missingInterpreterError, quote } from "../cage/failure.ts";
import { missingInterpreter } from "../cage/interpreter.ts";
import { closestMatch } from "../config/did_you_mean.ts";
import { SUBCOMMAND_NAMES as SUBCOMMANDS } from "./args.ts";

type Found = "file" | "directory" | undefined;

function kindOf(path: string): Found {
  try {
    const info = Deno.statSync(path);
    return info.isFile ? "file" : info.isDirectory ? "directory" : undefined;
  } catch {
    return undefined;
  }
}

/** How a subcommand is given, for the hint: its usual words after `wgcage`. */
const EXAMPLES: Record<string, string> = {
  up: "up NAME --config FILE",
  exec: "exec NAME -- CMD",
  // `wgcage -v demo` is the usual slip: -v goes after demo.
  demo: "demo -v",
};

/** The hint for a missing command that is one of wgcage's subcommands, or close to one. */
function subcommandHint(command: string): string {
  if ((SUBCOMMANDS as readonly string[]).includes(command)) {
    return `; to use 'wgcage ${command}', give it first and its options after it ` +
      `(wgcage's options end at the first word that is not an option), e.g. ` +
      `'wgcage ${EXAMPLES[command] ?? command}'`;
  }
  // Not for two letters: a missing 'ip' is not a typo of 'up'.
  const guess = command.includes("/") || command.length < 3
    ? undefined
    : closestMatch(command, SUBCOMMANDS);
  return guess === undefined ? "" : `; did you mean 'wgcage ${guess}'?`;
}

/**
 * Throws a {@linkcode CageError}: 127 when `command` is found nowhere or its
 * `#!` interpreter is missing, 126 when it is a directory.
 */
export function assertCommandExists(command: string, path = Deno.env.get("PATH") ?? ""): void {
  let file: string | undefined;
  let directory = false;
  if (command.includes("/")) {
    const kind = kindOf(command);
    if (kind === "file") file = command;
    directory = kind === "directory";
  } else {
    // As execvp: the first regular file along PATH; a directory of that name
    // is only what is left when there is none.
    for (const dir of path.split(":")) {
      const candidate = `${dir === "" ? "." : dir}/${command}`;
      const kind = kindOf(candidate);
      if (kind === "file") {
        file = candidate;
        break;
      }
      if (kind === "directory") directory = true;
    }
  }
  if (file !== undefined) {
    const interpreter = missingInterpreter(file);
    if (interpreter === undefined) return;
    throw missingInterpreterError(command, interpreter);
  }
  if (directory) {
    throw new CageError(
      `wgcage: Cannot run ${quote(command)}: it is a directory; give the program inside it`,
      EXIT_NOT_EXECUTABLE,
    );
  }
  throw new CageError(
    `wgcage: Cannot run ${quote(command)}: command not found${subcommandHint(command)}`,
    EXIT_NOT_FOUND,
  );
}
