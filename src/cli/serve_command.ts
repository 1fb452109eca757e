/**
 * `wgcage serve [options]`: a rootless WireGuard server, exit and hub, with a
 * provisioning API (src/serve/). It runs in the foreground until Ctrl-C or
 * SIGTERM (`wgcage down NAME` ends it too: it is a live cage).
 *
 * @module
 */

import { parseServeArgs } from "../serve/options.ts";
import { runServe } from "../serve/serve.ts";
import { listenForInterruption } from "./interruption.ts";

export async function serveCommand(args: string[]): Promise<number> {
  const options = parseServeArgs(args);
  return await runServe({ options, interruption: listenForInterruption() });
}
