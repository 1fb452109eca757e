/**
 * `wgcage wg NAME <wg subcommand> [ARGS…]` runs the system `wg` against a
 * live cage's control socket: `wgcage wg ci show` is `wg show ci`. The stock
 * `wg` looks for userspace devices only in /var/run/wireguard; as root the
 * keeper links its socket there, rootless this runs `wg` in a user and mount
 * namespace of its own (unshare) with the state directory mounted there.
 * `wgcage set NAME …` is `wg set NAME …`, and `wgcage syncconf NAME FILE`
 * takes a wg-quick file (Address, DNS, MTU and the hooks are left out).
 *
 * Keys and configs are checked by wgcage before `wg` reads them
 * (wg_input.ts), and a failure of `wg` is reported as wgcage's own: one
 * line, secrets redacted, exit 125 (`wg` itself prints several lines and
 * exits 1, as `podman` turns its runtime's errors into its own).
 *
 * @module
 */

import { findLive, socketPath } from "../live/state.ts";
import { assertKeeperSocket } from "../live/keeper_socket.ts";
import { LiveError } from "../live/error.ts";
import { MessageGuard } from "../config/message_guard.ts";
import { checkConfFile, checkSetArgs, type WgInput } from "./wg_input.ts";
import { findOnPath } from "../cage/find_on_path.ts";

/** Refuses at once, in one line, when a tool the command needs is missing. */
export function requireTools(what: string, rootless = Deno.uid() !== 0): void {
  const needs: [string, string][] = [["wg", "wireguard-tools"]];
  if (rootless) needs.push(["unshare", "util-linux"], ["mount", "util-linux"]);
  for (const [tool, pkg] of needs) {
    if (findOnPath(tool) === undefined) {
      throw new LiveError(
        `'${what}' needs the system '${tool}', which is not on PATH; install ${pkg} ` +
          `(e.g. apt install ${pkg}) or add its directory to PATH`,
      );
    }
  }
}

/**
 * `wg`'s error output as one line: its first two lines that say something
 * (not its usage text), cleaned by the guard that saw every input.
 */
export function wgFailure(sub: string, name: string, stderr: string, guard: MessageGuard): string {
  const lines = stderr.split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("Usage:"));
  const said = lines.slice(0, 2).join("; ") || "no message";
  // The one refusal a live cage adds to wg's own: its UDP socket stays put.
  const fix = /Address already in use/.test(said)
    ? "a live cage keeps its port: leave ListenPort out (or give the port 'wgcage ls --json' shows)"
    : "see 'man wg' for its arguments";
  return guard.clean(`'wg ${sub} ${name}' failed: ${said}; ${fix}`);
}

async function runWg(
  name: string,
  sub: string,
  wgArgs: string[],
  input: WgInput = { args: [], guard: new MessageGuard(), warnings: [] },
): Promise<number> {
  const { dir } = findLive(name);
  requireTools(sub === "set" || sub === "syncconf" ? `wgcage ${sub}` : "wgcage wg");
  // wg trusts whatever listens at the path: check it is still the keeper.
  await assertKeeperSocket(socketPath(dir, name), name);
  for (const w of input.warnings) console.error(w);
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
      stdin: input.stdin === undefined ? "inherit" : "piped",
      stdout: "inherit",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new LiveError(
      `Cannot run '${cmd}': ${(e as Error).message}; install wireguard-tools (and util-linux)`,
    );
  }
  const stderr = new Response(child.stderr).text();
  if (input.stdin !== undefined) {
    const w = child.stdin.getWriter();
    // wg may end before reading it all (a usage error): its status says why.
    await w.write(new TextEncoder().encode(input.stdin)).catch(() => {});
    await w.close().catch(() => {});
  }
  const [status, said] = await Promise.all([child.status, stderr]);
  if (status.code !== 0) throw new LiveError(wgFailure(sub, name, said, input.guard));
  for (const line of said.split("\n")) if (line !== "") console.error(input.guard.clean(line));
  return 0;
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
  const wgArgs = wgArgsFor(name, args);
  const sub = wgArgs[0];
  if (sub === "set") {
    const input = await checkSetArgs(wgArgs.slice(2));
    return await runWg(name, sub, [sub, name, ...input.args], input);
  }
  if ((sub === "setconf" || sub === "addconf" || sub === "syncconf") && wgArgs.length === 3) {
    const input = await checkConfFile(wgArgs[2]);
    return await runWg(name, sub, [sub, name, ...input.args], input);
  }
  return await runWg(name, sub, wgArgs);
}

export async function setCommand(name: string, args: string[]): Promise<number> {
  const input = await checkSetArgs(args);
  return await runWg(name, "set", ["set", name, ...input.args], input);
}

export async function syncconfCommand(name: string, file: string): Promise<number> {
  const input = await checkConfFile(file);
  return await runWg(name, "syncconf", ["syncconf", name, ...input.args], input);
}
