/**
 * The live cage tools: show, set, syncconf, and the system `wg` against a
 * cage.
 *
 * @module
 */

import type { LiveCommand } from "./live_args.ts";
import { showCommand } from "./show_command.ts";
import { setCommand, syncconfCommand, wgCommand } from "./wg_command.ts";

export async function liveToolCommand(c: LiveCommand): Promise<number> {
  switch (c.kind) {
    case "show":
      return await showCommand(c.name, c.json);
    case "set":
      return await setCommand(c.name, c.args);
    case "syncconf":
      return await syncconfCommand(c.name, c.file);
    case "wg":
      return await wgCommand(c.name, c.args);
    default:
      throw new Error(`not a live tool: ${c.kind}`);
  }
}
