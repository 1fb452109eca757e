/**
 * The control service's requests: the userspace API's `get=1` and `set=1`,
 * and wgcage's own: `wgcage-join=1`, which `wgcage exec` sends for the
 * cage's namespaces (their fds come with the reply, SCM_RIGHTS, with the
 * name of the variable that held the config, which the command must not
 * get) and keeps open while the command runs, as `wgcage-hold=1` (the same
 * without the namespaces) is kept (the reference count of
 * `--rm-when-idle`), and `wgcage-drops=1`, the packets the data path dropped by reason
 * (`wgcage show`; kept out of `get=1`, which the stock `wg` parses).
 * Any other operation closes the connection, as wireguard-go does.
 *
 * @module
 */

import type { ControlClient, ControlHandler, ControlReply } from "./control_server.ts";
import type { LiveDevice } from "./live_device.ts";
import { ERRNO_INVALID, uapiGet, uapiSetSoon } from "./uapi.ts";

export interface HoldEvents {
  onHold(): void;
  onRelease(): void;
}

/** What a `wgcage-join=1` reply carries. */
export interface JoinSource {
  /** The cage's user, mnt, net, uts and pid namespaces, opened once by the keeper. */
  readonly namespaceFds: readonly number[];
  /** `--config-env VAR` of `up`: VAR, which the joined command must not get. */
  readonly configEnv?: string;
}

export const HOLD_OP = "wgcage-hold=1";
export const JOIN_OP = "wgcage-join=1";
/** The reply line naming the variable the config came from. */
export const CONFIG_ENV_KEY = "config_env";
export const DROPS_OP = "wgcage-drops=1";

/** The reply to `wgcage-drops=1`: a `REASON=COUNT` line per reason with drops. */
export function dropsReply(byReason: Record<string, number>): string {
  const lines = Object.entries(byReason).map(([reason, n]) => `${reason}=${n}`);
  return [...lines, "errno=0", "", ""].join("\n");
}

/** Parses a `wgcage-drops=1` reply; undefined when it is not one. */
export function parseDrops(reply: string): Record<string, number> | undefined {
  const out: Record<string, number> = {};
  const lines = reply.split("\n");
  if (lines.at(-1) !== "" || lines.at(-2) !== "" || lines.at(-3) !== "errno=0") return undefined;
  for (const line of lines.slice(0, -3)) {
    const m = /^([a-z0-9_]+)=([0-9]+)$/.exec(line);
    if (!m) return undefined;
    out[m[1]] = Number(m[2]);
  }
  return out;
}

export function uapiHandler(
  dev: LiveDevice,
  holds: HoldEvents,
  join?: JoinSource,
): ControlHandler {
  const hold = (client: ControlClient) => {
    if (!client.hold) {
      client.hold = true;
      holds.onHold();
    }
  };
  return {
    request(
      op: string,
      lines: string[],
      client: ControlClient,
    ): string | ControlReply | undefined | Promise<string> {
      switch (op) {
        case "get=1":
          if (lines.length !== 0) return `errno=${ERRNO_INVALID}\n\n`;
          // As wireguard-go's: a get waits for the set being applied.
          return dev.busy ? dev.settled().then(() => uapiGet(dev)) : uapiGet(dev);
        case "set=1":
          // Made in slices, the tunnel running between them (a set of tens
          // of thousands of prefixes takes a few hundred ms).
          return uapiSetSoon(dev, lines).then((errno) => `errno=${errno}\n\n`);
        case DROPS_OP:
          if (lines.length !== 0) return `errno=${ERRNO_INVALID}\n\n`;
          return dropsReply(dev.tunnel.drops.byReason());
        case HOLD_OP:
          if (lines.length !== 0) return `errno=${ERRNO_INVALID}\n\n`;
          hold(client);
          return "errno=0\n\n";
        case JOIN_OP: {
          if (lines.length !== 0 || join === undefined || join.namespaceFds.length === 0) {
            return `errno=${ERRNO_INVALID}\n\n`;
          }
          hold(client);
          const env = join.configEnv !== undefined ? `${CONFIG_ENV_KEY}=${join.configEnv}\n` : "";
          return { text: `${env}errno=0\n\n`, fds: join.namespaceFds };
        }
        default:
          return undefined;
      }
    },
    closed(client: ControlClient): void {
      if (client.hold) holds.onRelease();
    },
  };
}
