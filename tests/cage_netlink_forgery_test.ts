/**
 * A command of the cage cannot send to wgcage's netlink socket. The socket
 * the cage's child opens in the cage's network namespace carries wgcage's
 * requests to the kernel and the kernel's answers back; a live cage's keeper
 * keeps using it (routes) while commands run. A command that is root of the
 * cage (--root) holds CAP_NET_ADMIN there, which lets a netlink socket of its
 * own send to any port of the namespace (/proc/net/netlink lists them): it
 * must be refused, or it could slip forged acks and dump parts into wgcage's
 * conversation. The probe sends an NLMSG_DONE to every other rtnetlink port
 * of the cage and says how each send went.
 *
 * Needs root (the cage's driver) and python3.
 *
 * @module
 */

import { assertEquals } from "./cage/assert.ts";
import { DriverEnv, requireTool, type Who } from "./cage/harness.ts";

const PROBE = `
import errno, os, socket, struct
ports = []
for line in open("/proc/net/netlink").read().splitlines()[1:]:
    f = line.split()
    # sk Eth(protocol) Pid(port) ...: NETLINK_ROUTE is protocol 0
    if len(f) > 2 and f[1] == "0" and f[2] != "0":
        ports.append(int(f[2]))
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
results = []
for port in ports:
    try:
        s.sendto(struct.pack("=LHHLL", 16, 3, 0, 1, 0), (port, 0))
        results.append("sent")
    except OSError as e:
        results.append(errno.errorcode.get(e.errno, str(e.errno)))
print("ports", len(ports), " ".join(sorted(set(results))))
`;

for (const who of ["root", "nobody"] as const satisfies Who[]) {
  Deno.test(`cage (${who}): root of the cage cannot send to wgcage's netlink socket`, async () => {
    requireTool("python3");
    const env = await DriverEnv.create(who);
    try {
      const r = await env.run({ mapRoot: true }, ["python3", "-c", PROBE]);
      assertEquals(r.code, 0, r.stderr);
      // One port: wgcage's (the probe's own socket is made after the list).
      assertEquals(r.stdout.trim(), "ports 1 ECONNREFUSED");
    } finally {
      await env.close();
    }
  });
}
