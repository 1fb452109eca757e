/**
 * wgcage: run one command inside its own namespaces whose only network is a
 * userspace WireGuard tunnel. This is the program; `main.ts` starts it (from
 * build.ts's one-module bundle of it when that is current), and the npm
 * package and the compiled binaries are built from it.
 *
 * This is the only place that decides an exit status: 125 for wgcage's own
 * failures, 126/127 when the command cannot run, else the command's status.
 *
 * Every error ends here, in {@linkcode report}, as one of two kinds. One of
 * wgcage's own carries an `exitCode` (ConfigError, UsageError, CageError,
 * LauncherError, NetlinkError, TunnelError, and WgCoreError when the
 * configuration caused it): its one line names the cause and the fix. Any
 * other error is a bug in wgcage, and says so.
 *
 * @module
 */

// First: its first line is the first of wgcage's code to run (-v times from it).
import { programStarts } from "./startup_breakdown.ts";
import { compileCore } from "./wg/wasm.ts";
import { parseArgs, UsageError } from "./cli/args.ts";
import { runCommand } from "./cli/run_command.ts";
import { claimSigusr1 } from "./cage/signals.ts";
import { dieWithParent, takeParentWatch } from "./cli/die_with_parent.ts";

// The other subcommands are imported when used: from source without the
// bundle, each module loaded costs `wgcage -- cmd` start-up time (about 0.1 ms
// a module).

/** Exit status for wgcage's own failures. */
const EXIT_FAILURE = 125;

function exitCodeOf(e: unknown): number | undefined {
  if (e instanceof Error && "exitCode" in e && typeof e.exitCode === "number") return e.exitCode;
  return undefined;
}

const PREFIX = "wgcage: ";

/**
 * Prints an error as one line starting with `wgcage: ` (the usage follows
 * when a UsageError asks for it; the stack, for an internal error, with
 * WGCAGE_DEBUG set) and returns the exit status for it.
 */
export function report(e: unknown): number {
  const code = exitCodeOf(e);
  if (code !== undefined) {
    const message = (e as Error).message;
    console.error(message.startsWith(PREFIX) ? message : PREFIX + message);
    return code;
  }
  const msg = e instanceof Error ? e.message : String(e);
  console.error(
    `wgcage: Internal error: ${msg}; please report it with the command line you ran`,
  );
  if (Deno.env.get("WGCAGE_DEBUG") && e instanceof Error) console.error(e.stack);
  return EXIT_FAILURE;
}

/** Runs `action`; what it throws is {@linkcode report}ed, and its status returned. */
export async function reported(action: () => Promise<number> | number): Promise<number> {
  try {
    return await action();
  } catch (e) {
    const code = report(e);
    // The help text is a module of its own, which a run does not load.
    if (e instanceof UsageError && e.showUsage) {
      console.error((await import("./cli/usage.ts")).USAGE.trimEnd());
    }
    return code;
  }
}

/** Runs wgcage with `argv` (the arguments after the program) and returns its exit status. */
export async function main(argv: string[]): Promise<number> {
  programStarts();
  // The core compiles on a thread of V8's from here (all of it, where the
  // npm bin asks V8 to compile eagerly), while the main thread claims
  // SIGUSR1, reads the config and makes the cage: the first handshake then
  // finds it compiled. `exec` needs no core.
  if (argv[0] !== "exec") compileCore().catch(() => {});
  // First, before anything waits: `deno run` would answer a SIGUSR1 with a
  // debugger on 127.0.0.1:9229 from 500 ms after start on.
  // Then, before anything else, what the npm command asks for by default:
  // wgcage ends with the process that started it (cli/die_with_parent.ts).
  let watched = false;
  try {
    await claimSigusr1();
    const watch = takeParentWatch();
    if (watch) await dieWithParent(watch);
    watched = watch !== undefined;
  } catch (e) {
    return report(e);
  }
  // The demo's own programs, run inside its cages (hidden first arguments
  // that start so; loaded only then, as the demo's code is no run's).
  if (argv[0]?.startsWith("__demo-")) {
    const demo = await import("./demo/inside.ts");
    if (argv[0] === demo.SERVE_ARG) return await demo.demoServe(argv[1], Number(argv[2]));
    if (argv[0] === demo.FETCH_ARG) return await demo.demoFetch(argv[1]);
  }

  return await reported(async () => {
    const command = parseArgs(argv);
    // A foreground `up` holds its cage as a run does; `up -d --die-with-parent`
    // is refused by the parser (the keeper outlives its starter by design).
    const holdsCage = command.kind === "run" || (command.kind === "up" && !command.detach);
    if (holdsCage && command.options.dieWithParent && !watched) {
      await dieWithParent({ parent: Deno.ppid, ancestors: [] });
    }
    // `--server NAME` becomes the config file its first use registers and
    // keeps (serve/server_source.ts): here, before the run or the keeper
    // reads it, as the network and key making have no place in config/.
    if ((command.kind === "run" || command.kind === "up") && command.options.server) {
      const source = await import("./serve/server_source.ts");
      command.options.config = {
        kind: "file",
        path: await source.serverConfigPath(command.options.server),
      };
    }
    switch (command.kind) {
      case "run":
        return await runCommand(command.options, command.argv);
      case "demo":
        return await (await import("./cli/demo_command.ts")).demoCommand(command.verbose);
      case "genkey":
        return await (await import("./cli/key_commands.ts")).genkeyCommand();
      case "pubkey":
        return await (await import("./cli/key_commands.ts")).pubkeyCommand();
      case "genpsk":
        return await (await import("./cli/key_commands.ts")).genpskCommand();
      case "version":
        return (await import("./cli/info_commands.ts")).versionCommand();
      case "help":
        return (await import("./cli/info_commands.ts")).helpCommand(command.topic);
      case "up":
        return await (await import("./cli/up_command.ts")).upCommand(command);
      case "serve":
        return await (await import("./cli/serve_command.ts")).serveCommand(command.args);
      case "server":
        return await (await import("./cli/server_command.ts")).serverCommand(command.args);
      case "exec":
        return await (await import("./cli/exec_command.ts")).execCommand(
          command.name,
          command.argv,
          command.verbose,
        );
      case "down":
        return await (await import("./cli/down_command.ts")).downCommand(command.name);
      case "ls":
        return (await import("./cli/ls_command.ts")).lsCommand(command.json);
      case "show":
      case "set":
      case "syncconf":
      case "wg":
        return await (await import("./cli/live_tools.ts")).liveToolCommand(command);
      default: {
        const unhandled: never = command;
        throw new Error(`unhandled command ${JSON.stringify(unhandled)}`);
      }
    }
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
