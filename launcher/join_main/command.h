/*
 * command.h — whether the command can be run as it stands, checked before
 * anything is asked of the keeper, as src/cli/command_lookup.ts does for the
 * Deno path. The native join takes only the plain case (a regular file found
 * as execvp would find it, executable by us, with any #! interpreter
 * present); for everything else (not found, a directory, a missing
 * interpreter, no execute permission) the Deno path words the refusal (it
 * guesses subcommands, names the interpreter, spots DOS line endings).
 */
#ifndef WGJ_COMMAND_H
#define WGJ_COMMAND_H

#include <stdbool.h>

bool wgj_command_plain(const char *command, const char *path_env);

#endif
