/**
 * Asks the kernel whether anything listens at a peer's UDP endpoint
 * (launcher/udp_probe.c): one empty datagram from a connected socket of its
 * own, and the ICMP error, if any, that comes back. For the handshake
 * timeout's message only; the data path's socket is left as it is.
 *
 * @module
 */

import type { ResolvedEndpoint } from "../config/endpoint.ts";
import { launcher } from "../launcher/library.ts";

/**
 * 0 when no ICMP error came within `timeoutMs`, the errno it became
 * (ECONNREFUSED: port unreachable), or a negative errno when the probe could
 * not be made.
 */
export async function probeUdpEndpoint(
  endpoint: ResolvedEndpoint,
  timeoutMs: number,
): Promise<number> {
  const address = new Uint8Array(16);
  address.set(endpoint.address.subarray(0, 16));
  return await launcher().wgl_udp_probe(
    address,
    endpoint.family,
    endpoint.port,
    endpoint.scopeId,
    timeoutMs,
  );
}
