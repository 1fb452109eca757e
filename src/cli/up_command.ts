/**
 * `wgcage up NAME [options]`: a named cage that stays. In the foreground it
 * runs until Ctrl-C or `wgcage down NAME`; with `-d` a keeper process is
 * started in a session of its own and this returns once the first handshake
 * completed, with the keeper's errors and status when it failed.
 *
 * @module
 */

import type { RunOptions } from "./args.ts";
import { DETACHED_ENV, READY_LINE, runKeeper } from "../live/keeper.ts";
import { checkName } from "../live/state.ts";
import { selfCommand } from "./self_command.ts";
import { listenForInterruption } from "./interruption.ts";
import { optionWarnings } from "./run_warnings.ts";

export interface UpCommand {
  name: string;
  options: RunOptions;
  detach: boolean;
  rmWhenIdle: boolean;
  keeperArgs: string[];
}

export async function upCommand(c: UpCommand): Promise<number> {
  checkName(c.name);
  // Said once, by the `up` the user ran (a detached keeper's stderr is relayed here).
  if (Deno.env.get(DETACHED_ENV) === undefined) {
    for (const w of optionWarnings(c.options)) console.error(w);
  }
  if (!c.detach) {
    return await runKeeper({
      name: c.name,
      run: c.options,
      rmWhenIdle: c.rmWhenIdle,
      interruption: listenForInterruption(),
    });
  }
  const [cmd, ...pre] = selfCommand();
  const child = new Deno.Command(cmd, {
    args: [...pre, "up", ...c.keeperArgs],
    env: { [DETACHED_ENV]: "1" },
    stdin: c.options.config?.kind === "stdin" ? "inherit" : "null",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  }).spawn();
  // The keeper's messages until it is up are ours; after that it says nothing.
  const relay = child.stderr.pipeTo(
    new WritableStream({ write: (chunk) => void Deno.stderr.writeSync(chunk) }),
  ).catch(() => {});
  const decoder = new TextDecoder();
  let seen = "";
  const reader = child.stdout.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += decoder.decode(value, { stream: true });
    if (seen.includes(`${READY_LINE}\n`)) {
      reader.releaseLock();
      await child.stdout.cancel().catch(() => {});
      await child.stderr.cancel().catch(() => {});
      child.unref();
      void relay;
      return 0;
    }
  }
  await relay;
  const status = await child.status;
  return status.code === 0 ? 125 : status.code;
}
