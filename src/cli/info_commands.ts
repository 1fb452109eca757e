/**
 * `wgcage version` and `wgcage help [topic]`.
 *
 * @module
 */

import { VERSION } from "../version.ts";
import { helpText } from "./usage.ts";

export function versionCommand(): number {
  console.log(`wgcage ${VERSION} (deno ${Deno.version.deno})`);
  return 0;
}

export function helpCommand(topic?: string): number {
  console.log((helpText(topic) ?? helpText()!).trimEnd());
  return 0;
}
