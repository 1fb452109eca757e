/**
 * The UDP GSO fallback against the real kernel, on loopback: a socket whose
 * UDP_SEGMENT sends the kernel refuses (here SO_NO_CHECK, which makes it
 * answer EINVAL; a route through IPsec gives EIO) has GSO turned off for good
 * by launcher/packet_io.c, and the batch still goes out, one datagram a slot,
 * every byte in place. The same batch on a socket without SO_NO_CHECK goes
 * out with GSO, which stays on. A device's settings cannot make Linux 5.x and
 * later refuse GSO (it segments in software), so this is how the fallback is
 * driven here.
 *
 * @module
 */

import { deepStrictEqual as assertEquals } from "node:assert";
import { UdpSocket } from "../src/datapath/udp_socket.ts";
import { UdpOffload } from "../src/datapath/offloads.ts";
import { type Batch, WgDevice } from "../src/wg/device.ts";
import { DESC_OP, DESC_WORDS, Op } from "../src/wg/abi.ts";

const SLOT = 2048;
const COUNT = 8;
const SIZE = 1000;

/** Datagram i's bytes: (i * 17 + j) & 255. */
function datagram(i: number): Uint8Array {
  return new Uint8Array(SIZE).map((_, j) => (i * 17 + j) & 255);
}

/** COUNT datagrams of SIZE bytes in a batch of the core's, addressed to 127.0.0.1:port. */
function outbound(device: WgDevice, port: number): Batch {
  const b = device.batch(COUNT, SLOT);
  const endpoint = {
    family: 4,
    port,
    scopeId: 0,
    address: new Uint8Array([127, 0, 0, 1]),
  } as const;
  for (let i = 0; i < COUNT; i++) {
    b.setPacket(i, datagram(i), 0);
    b.setEndpoint(i, endpoint);
    b.descView()[i * DESC_WORDS + DESC_OP] = Op.Network;
  }
  return b;
}

/** Receives until COUNT datagrams came (or 2 s passed); returns each one's bytes. */
async function receiveAll(device: WgDevice, socket: UdpSocket): Promise<Uint8Array[]> {
  const into = device.batch(64, SLOT);
  const got: Uint8Array[] = [];
  const until = Date.now() + 2000;
  while (got.length < COUNT && Date.now() < until) {
    const n = socket.recv(into);
    if (n <= 0) {
      await new Promise((r) => setTimeout(r, 5));
      continue;
    }
    for (let i = 0; i < n; i++) got.push(into.packet(i).slice());
  }
  return got;
}

function setNoCheck(fd: number): void {
  const libc = Deno.dlopen("libc.so.6", {
    setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  });
  try {
    const SOL_SOCKET = 1, SO_NO_CHECK = 11;
    const one = new Int32Array([1]);
    const rc = libc.symbols.setsockopt(fd, SOL_SOCKET, SO_NO_CHECK, new Uint8Array(one.buffer), 4);
    if (rc !== 0) throw new Error("setsockopt(SO_NO_CHECK) failed");
  } finally {
    libc.close();
  }
}

for (const refused of [false, true]) {
  Deno.test(`a batch of datagrams ${refused ? "goes out one a slot once the kernel refuses GSO, which stays off" : "goes out with GSO, which stays on"}`, async () => {
    const device = await WgDevice.create();
    const sender = await UdpSocket.open(0);
    const receiver = await UdpSocket.open(0);
    try {
      if ((sender.offloads & UdpOffload.GSO) === 0) {
        throw new Error("This kernel has no UDP GSO (Linux 4.18 or later has it)");
      }
      if (refused) setNoCheck(sender.fd);
      sender.send(outbound(device, receiver.port), COUNT);
      assertEquals((sender.offloads & UdpOffload.GSO) === 0, refused);
      assertEquals(sender.describeOffloads().startsWith(`UDP GSO ${refused ? "off" : "on"}`), true);
      const got = await receiveAll(device, receiver);
      assertEquals(got.length, COUNT);
      got.forEach((g, i) => assertEquals(g, datagram(i)));
    } finally {
      sender.close();
      receiver.close();
      device.close();
    }
  });
}
