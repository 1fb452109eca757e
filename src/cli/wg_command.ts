/**
 * `wgcage wg NAME <wg subcommand> [ARGS…]` runs the system `wg` against a
 * live cage's control socket: `wgcage wg ci show` is `wg show ci`. The stock
 * `wg` looks for userspace devices only in /var/run/wireguard; as root the
 * keeper links its socket there, rootless this runs `wg` in a user and mount
 * namespace of its own (unshare) with the state directory mounted there.
 * `wgcage set NAME …` is `wg set NAME …`, and `wgcage syncconf NAME FILE`
 * takes a wg-quick file (Address, DNS, MTU and the hooks are left out).
 *
 * @module
 */

import { findLive } from "../live/state.ts";
import { LiveError } from "../live/error.ts";

/** wg-quick's own keys, which `wg` does not take. */
const QUICK_ONLY = /^\s*(Address|DNS|MTU|Table|PreUp|PostUp|PreDown|PostDown|SaveConfig)\s*=/i;

async function runWg(name: string, wgArgs: string[], stdin?: string): Promise<number> {
  const { dir } = findLive(name);
  let cmd = "wg";
  let args = wgArgs;
  if (Deno.uid() !== 0) {
    cmd = "unshare";
    args = [
      "--user",
      "--map-root-user",
      "--mount",
      "--",
      "/bin/sh",
      "-c",
      'mount -t tmpfs -o mode=0755 tmpfs /run && mkdir /run/wireguard && mount --bind "$0" /run/wireguard && exec wg "$@"',
      dir,
      ...wgArgs,
    ];
  }
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      stdin: stdin === undefined ? "inherit" : "piped",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
  } catch (e) {
    throw new LiveError(
      `Cannot run '${cmd}': ${(e as Error).message}; install wireguard-tools (and util-linux)`,
    );
  }
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  return (await child.status).code;
}

/** Where `wg`'s subcommands take the interface name. */
export function wgArgsFor(name: string, args: string[]): string[] {
  const [sub, ...rest] = args;
  switch (sub) {
    case "show":
    case "showconf":
    case "set":
    case "setconf":
    case "addconf":
    case "syncconf":
      return [sub, name, ...rest];
    default:
      throw new LiveError(
        `'wgcage wg NAME ${sub}' is not a wg subcommand for one device; use show, showconf, set, setconf, addconf or syncconf`,
      );
  }
}

export async function wgCommand(name: string, args: string[]): Promise<number> {
  return await runWg(name, wgArgsFor(name, args));
}

export async function setCommand(name: string, args: string[]): Promise<number> {
  return await runWg(name, ["set", name, ...args]);
}

export async function syncconfCommand(name: string, file: string): Promise<number> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new LiveError(`Cannot read ${file}: ${(e as Error).message}`);
  }
  const plain = text.split("\n").filter((l) => !QUICK_ONLY.test(l)).join("\n");
  return await runWg(name, ["syncconf", name, "/dev/stdin"], plain);
}
