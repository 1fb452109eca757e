/**
 * The command line of live cages:
 *
 *     wgcage up NAME [-d] [--rm-when-idle] [run options]
 *     wgcage exec NAME [--] CMD [ARGS…]
 *     wgcage down NAME
 *     wgcage ls [--json]
 *     wgcage show [NAME] [--json]
 *     wgcage set NAME <wg set arguments>
 *     wgcage syncconf NAME FILE
 *     wgcage wg NAME <wg subcommand> [ARGS…]
 *
 * @module
 */

import { type ParseHost, parseRunOptions, type RunOptions, UsageError } from "./args.ts";

export const LIVE_SUBCOMMANDS = [
  "up",
  "exec",
  "down",
  "ls",
  "show",
  "set",
  "syncconf",
  "wg",
] as const;
export type LiveSubcommand = typeof LIVE_SUBCOMMANDS[number];

export type LiveCommand =
  | {
    kind: "up";
    name: string;
    options: RunOptions;
    detach: boolean;
    rmWhenIdle: boolean;
    /** The arguments after `up` without -d: what a detached keeper is started with. */
    keeperArgs: string[];
  }
  | {
    kind: "exec";
    name: string;
    argv: string[];
    /** `exec -v`: one line saying whether the native join took it, and if not why. */
    verbose: boolean;
  }
  | { kind: "down"; name: string }
  | { kind: "ls"; json: boolean }
  | { kind: "show"; name?: string; json: boolean }
  | { kind: "set"; name: string; args: string[] }
  | { kind: "syncconf"; name: string; file: string }
  | { kind: "wg"; name: string; args: string[] };

export function isLiveSubcommand(word: string | undefined): word is LiveSubcommand {
  return (LIVE_SUBCOMMANDS as readonly string[]).includes(word ?? "");
}

function needName(sub: string, args: string[]): string {
  const name = args[0];
  if (name === undefined || name.startsWith("-")) {
    throw new UsageError(`wgcage: '${sub}' needs the cage's name first, e.g. 'wgcage ${sub} ci'`);
  }
  return name;
}

function jsonOnly(sub: string, args: string[]): boolean {
  for (const a of args) {
    if (a !== "--json") {
      throw new UsageError(`wgcage: Unexpected '${a}' after '${sub}'; see 'wgcage help'`);
    }
  }
  return args.length > 0;
}

export function parseLiveCommand(
  sub: LiveSubcommand,
  args: string[],
  host: ParseHost,
): LiveCommand {
  switch (sub) {
    case "up": {
      const name = needName(sub, args);
      let detach = false;
      let rmWhenIdle = false;
      const rest: string[] = [];
      const keeperArgs: string[] = [name];
      for (const a of args.slice(1)) {
        if (a === "-d" || a === "--detach") {
          detach = true;
          continue;
        }
        if (a === "--rm-when-idle") rmWhenIdle = true;
        else rest.push(a);
        keeperArgs.push(a);
      }
      const options = parseRunOptions(rest, host, "up");
      // A detached keeper is meant to outlive the `up -d` that started it.
      if (detach && options.dieWithParent) {
        throw new UsageError(
          "wgcage: '-d' and '--die-with-parent' contradict each other: a detached cage " +
            "outlives the process that started it; drop one (a foreground 'up' takes " +
            "--die-with-parent)",
        );
      }
      // `wgcage up wg0.conf`, as with wg-quick: the first word is the cage's
      // name here, and the file goes with --config.
      if (options.config === undefined && (name.endsWith(".conf") || name.includes("/"))) {
        const base = name.slice(name.lastIndexOf("/") + 1).replace(/\.conf$/, "") || "NAME";
        throw new UsageError(
          `wgcage: 'up' takes the cage's name, then the config: 'wgcage up ${base} --config ${name}'`,
        );
      }
      return {
        kind: "up",
        name,
        options,
        detach,
        rmWhenIdle,
        keeperArgs,
      };
    }
    case "exec": {
      // `-v` before the name only: after it, a word is the command's.
      const verbose = args[0] === "-v" || args[0] === "--verbose";
      if (verbose) args = args.slice(1);
      const name = needName(sub, args);
      // The cage's options were given to 'up'; a word here that looks like
      // one is refused rather than run as the command (docker exec would
      // take it as its own option, env as a command). --die-with-parent is
      // not taken here either: the npm command's WGCAGE_DIE_WITH_PARENT,
      // read before any parsing, already ends `npx wgcage exec` with npm,
      // and exec's command already ends with exec.
      if (args[1] !== undefined && args[1] !== "--" && args[1].startsWith("-")) {
        throw new UsageError(
          `wgcage: 'exec' takes no options ('${args[1]}'): options such as -p belong to ` +
            `'wgcage up ${name} …'; the command follows the name, or '--' for one that ` +
            `starts with '-': 'wgcage exec ${name} -- CMD'`,
        );
      }
      const argv = args[1] === "--" ? args.slice(2) : args.slice(1);
      if (argv.length === 0) {
        throw new UsageError(
          `wgcage: No command to run in '${name}'; e.g. 'wgcage exec ${name} -- curl https://example.com'`,
        );
      }
      return { kind: "exec", name, argv, verbose };
    }
    case "down": {
      const name = needName(sub, args);
      if (args.length > 1) {
        throw new UsageError(`wgcage: 'down' takes one name; run 'wgcage down ${name}'`);
      }
      return { kind: "down", name };
    }
    case "ls":
      return { kind: "ls", json: jsonOnly(sub, args) };
    case "show": {
      const json = args.includes("--json");
      const rest = args.filter((a) => a !== "--json");
      if (rest.length > 1 || rest[0]?.startsWith("-")) {
        throw new UsageError(
          "wgcage: 'show' takes at most one name and --json; e.g. 'wgcage show ci --json'",
        );
      }
      return rest[0] === undefined ? { kind: "show", json } : { kind: "show", name: rest[0], json };
    }
    case "set": {
      const name = needName(sub, args);
      if (args.length < 2) {
        throw new UsageError(
          `wgcage: 'set' needs what to change, in 'wg set' syntax, e.g. 'wgcage set ${name} peer KEY allowed-ips 10.0.0.0/24'`,
        );
      }
      return { kind: "set", name, args: args.slice(1) };
    }
    case "syncconf": {
      const name = needName(sub, args);
      if (args.length !== 2) {
        throw new UsageError(
          `wgcage: 'syncconf' takes a name and a file: 'wgcage syncconf ${name} wg0.conf'`,
        );
      }
      return { kind: "syncconf", name, file: args[1] };
    }
    case "wg": {
      const name = needName(sub, args);
      if (args.length < 2) {
        throw new UsageError(`wgcage: 'wg' needs a wg subcommand, e.g. 'wgcage wg ${name} show'`);
      }
      return { kind: "wg", name, args: args.slice(1) };
    }
  }
}
