/**
 * `wgcage [options] -- cmd args…`: load the config, open the tunnel, wait for
 * the first handshake, run the command, and return its exit status.
 *
 * @module
 */

import type { RunOptions } from "./args.ts";
import { hostLoadIo, loadConfig } from "../config/load.ts";
import { forwardSignals } from "../cage/mod.ts";
import { Tunnel } from "../tunnel.ts";
import { compileCore } from "../wg/_wasm.ts";

function stderrLine(line: string): void {
  console.error(line);
}

export async function runCommand(options: RunOptions, argv: string[]): Promise<number> {
  // V8 compiles the core on background threads while the config is read.
  compileCore().catch(() => {});
  const { config, warnings } = await loadConfig(
    { config: options.config, flags: options.flags },
    hostLoadIo,
  );
  for (const w of warnings) stderrLine(w);

  const started = performance.now();
  const log = options.verbose
    ? (line: string) =>
      stderrLine(`wgcage: [${((performance.now() - started) / 1000).toFixed(3)}] ${line}`)
    : undefined;

  const tunnel = await Tunnel.open({
    config,
    argv,
    tunName: options.tunName ?? "wg0",
    mapRoot: options.root,
    hostname: options.hostname,
    log,
    warn: stderrLine,
  });
  // Until the command runs, a Ctrl-C ends wgcage (and so the waiting cage).
  const stopForwarding = forwardSignals(tunnel.cage);
  try {
    if (tunnel.initiates && options.handshakeTimeoutMs > 0) {
      await tunnel.waitForHandshake(options.handshakeTimeoutMs);
    }
    log?.("starting the command");
    return await tunnel.run();
  } finally {
    stopForwarding();
    await tunnel.close();
  }
}
