/**
 * Which of the kernel's offloads the data path asks for, and how `-v` names
 * the ones it got. Each can be forced off with an environment variable (for
 * tests, and for a kernel that misbehaves with one):
 *
 * - `WGCAGE_NO_VNET_HDR=1` — the TUN without a virtio header: no TSO/USO
 *   super-packets from the cage, no coalesced writes into it;
 * - `WGCAGE_NO_COALESCE=1` — a virtio header, but every packet written to the
 *   TUN on its own;
 * - `WGCAGE_NO_GSO=1` — every datagram its own `sendmmsg` entry (no
 *   UDP_SEGMENT);
 * - `WGCAGE_NO_GRO=1` — no UDP_GRO on the socket.
 *
 * @module
 */

/** TUN_F_* of linux/if_tun.h. */
export const TunOffload = {
  CSUM: 0x01,
  TSO4: 0x02,
  TSO6: 0x04,
  TSO_ECN: 0x08,
  USO4: 0x20,
  USO6: 0x40,
} as const;

/** wgl_tun_offload's bit for "the TUN has a virtio header". */
export const TUN_VNET = 0x100;

/** wgl_udp_offload's bits. */
export const UdpOffload = { GSO: 1, GRO: 2 } as const;

/** What the environment allows. */
export interface OffloadWishes {
  vnetHdr: boolean;
  coalesce: boolean;
  gso: boolean;
  gro: boolean;
}

function forcedOff(name: string, env: (name: string) => string | undefined): boolean {
  const v = env(name);
  return v !== undefined && v !== "" && v !== "0";
}

/** Reads the `WGCAGE_NO_*` switches. */
export function offloadWishes(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): OffloadWishes {
  return {
    vnetHdr: !forcedOff("WGCAGE_NO_VNET_HDR", env),
    coalesce: !forcedOff("WGCAGE_NO_COALESCE", env),
    gso: !forcedOff("WGCAGE_NO_GSO", env),
    gro: !forcedOff("WGCAGE_NO_GRO", env),
  };
}

/** Every TUN offload the data path can handle. */
export const TUN_OFFLOADS_WANTED = TunOffload.CSUM | TunOffload.TSO4 | TunOffload.TSO6 |
  TunOffload.TSO_ECN | TunOffload.USO4 | TunOffload.USO6;

/** What the writes into the TUN coalesce (launcher/offload.h's WGL_GRO_*). */
export const Coalesce = { TCP: 1, UDP: 2 } as const;

const TSO = TunOffload.CSUM | TunOffload.TSO4 | TunOffload.TSO6;
const USO = TunOffload.CSUM | TunOffload.USO4 | TunOffload.USO6;

/**
 * The {@linkcode Coalesce} bits for a TUN in `state` (`wgl_tun_offload`'s
 * result): TCP segments when it takes TSO, UDP datagrams when it takes USO
 * (Linux 6.2 and later); none when coalescing is not wished.
 */
export function coalescedProtocols(state: number, wished: boolean): number {
  if (!wished || (state & TUN_VNET) === 0) return 0;
  return ((state & TSO) === TSO ? Coalesce.TCP : 0) | ((state & USO) === USO ? Coalesce.UDP : 0);
}

/** `-v`'s words for the TUN's state (`wgl_tun_offload`'s result) and coalescing. */
export function describeTunOffloads(state: number, coalesce: number): string {
  if ((state & TUN_VNET) === 0) return "TUN virtio header off";
  const names = (Object.keys(TunOffload) as (keyof typeof TunOffload)[])
    .filter((k) => (state & TunOffload[k]) !== 0)
    .map((k) => k.toLowerCase().replace("_", "-"));
  const merged = [coalesce & Coalesce.TCP ? "TCP" : "", coalesce & Coalesce.UDP ? "UDP" : ""]
    .filter((p) => p !== "");
  return `TUN virtio header on (${names.length > 0 ? names.join(" ") : "no offloads"}), ` +
    `coalescing ${merged.length > 0 ? `on (${merged.join(", ")})` : "off"}`;
}

/** `-v`'s words for the socket's UDP offloads (`wgl_udp_offload`'s result). */
export function describeUdpOffloads(state: number): string {
  return `UDP GSO ${state & UdpOffload.GSO ? "on" : "off"}, ` +
    `UDP GRO ${state & UdpOffload.GRO ? "on" : "off"}`;
}
