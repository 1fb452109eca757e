/**
 * Test driver run inside a test's network namespace
 * (`ip netns exec NS deno run -A tests/netlink/driver.ts COMMAND [ARG]`).
 * Prints one JSON object on stdout:
 *
 * - `configure PLAN_JSON` — runs configureLinks with
 *   `{ tunName, mtu, addresses: ["10.99.0.2/32", …], routes: [...] }`;
 *   prints `{ ok: true }` or `{ error, errno }` for a NetlinkError.
 * - `list` — prints `{ links, addresses, routes }` from the dump decoders.
 * - `capture` — runs the three dumps and prints every datagram the kernel
 *   sent, as hex, by request: `{ links: [hex…], addresses: […], routes: […] }`.
 * - `capture-configure PLAN_JSON` — `configure`, plus `datagrams: [hex…]`,
 *   every datagram the kernel sent during it.
 *
 * @module
 */

import { parseCidr } from "../../src/config/cidr.ts";
import { listAddresses } from "../../src/netlink/address.ts";
import { configureLinks } from "../../src/netlink/configure.ts";
import { NetlinkError } from "../../src/netlink/error.ts";
import { listLinks } from "../../src/netlink/link.ts";
import { listRoutes } from "../../src/netlink/route.ts";
import type { NetlinkTransport } from "../../src/netlink/transport.ts";
import { openLibcNetlink } from "./libc_transport.ts";

interface PlanText {
  tunName: string;
  mtu: number;
  addresses: string[];
  routes: string[];
}

/** Wraps a transport and keeps a copy of every datagram it reads. */
function recording(inner: NetlinkTransport, into: string[]): NetlinkTransport {
  return {
    send: (msg) => inner.send(msg),
    recv: (buf) => {
      const length = inner.recv(buf);
      into.push(buf.subarray(0, length).toHex());
      return length;
    },
  };
}

function configure(nl: NetlinkTransport, argument: string | undefined): object {
  const plan = JSON.parse(argument ?? "") as PlanText;
  try {
    configureLinks(nl, {
      tunName: plan.tunName,
      mtu: plan.mtu,
      addresses: plan.addresses.map(parseCidr),
      routes: plan.routes.map(parseCidr),
    });
    return { ok: true };
  } catch (error) {
    if (error instanceof NetlinkError) return { error: error.message, errno: error.errno };
    throw error;
  }
}

function run(nl: NetlinkTransport, command: string, argument: string | undefined): unknown {
  switch (command) {
    case "capture-configure": {
      const datagrams: string[] = [];
      return { ...configure(recording(nl, datagrams), argument), datagrams };
    }
    case "configure":
      return configure(nl, argument);
    case "list":
      return { links: listLinks(nl), addresses: listAddresses(nl), routes: listRoutes(nl) };
    case "capture": {
      const links: string[] = [];
      const addresses: string[] = [];
      const routes: string[] = [];
      listLinks(recording(nl, links));
      listAddresses(recording(nl, addresses));
      listRoutes(recording(nl, routes));
      return { links, addresses, routes };
    }
    default:
      throw new Error(`Unknown driver command '${command}'; use configure, list or capture`);
  }
}

const socket = openLibcNetlink();
try {
  console.log(JSON.stringify(run(socket.transport, Deno.args[0], Deno.args[1])));
} finally {
  socket.close();
}
