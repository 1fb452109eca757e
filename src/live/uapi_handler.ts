/**
 * The control service's requests: the userspace API's `get=1` and `set=1`,
 * and wgcage's own `wgcage-hold=1`, which a joined command's wgcage keeps
 * open while the command runs (the reference count of `--rm-when-idle`).
 * Any other operation closes the connection, as wireguard-go does.
 *
 * @module
 */

import type { ControlClient, ControlHandler } from "./control_server.ts";
import type { LiveDevice } from "./live_device.ts";
import { ERRNO_INVALID, uapiGet, uapiSet } from "./uapi.ts";

export interface HoldEvents {
  onHold(): void;
  onRelease(): void;
}

export const HOLD_OP = "wgcage-hold=1";

export function uapiHandler(dev: LiveDevice, holds: HoldEvents): ControlHandler {
  return {
    request(op: string, lines: string[], client: ControlClient): string | undefined {
      switch (op) {
        case "get=1":
          return lines.length === 0 ? uapiGet(dev) : `errno=${ERRNO_INVALID}\n\n`;
        case "set=1":
          return `errno=${uapiSet(dev, lines)}\n\n`;
        case HOLD_OP:
          if (lines.length !== 0) return `errno=${ERRNO_INVALID}\n\n`;
          if (!client.hold) {
            client.hold = true;
            holds.onHold();
          }
          return "errno=0\n\n";
        default:
          return undefined;
      }
    },
    closed(client: ControlClient): void {
      if (client.hold) holds.onRelease();
    },
  };
}
