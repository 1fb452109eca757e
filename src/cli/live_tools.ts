/**
 * Placeholder dispatch for the live cage tools not built yet.
 *
 * @module
 */

import type { LiveCommand } from "./live_args.ts";
import { UsageError } from "./args.ts";

export function liveToolCommand(c: LiveCommand): Promise<number> {
  return Promise.reject(new UsageError(`wgcage: '${c.kind}' is not available yet`));
}
