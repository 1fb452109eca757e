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
import type { MemoryBatch } from "../src/datapath/launcher_io.ts";
import { UdpOffload } from "../src/datapath/offloads.ts";
import {
  DESC_ENDPOINT,
  DESC_LEN,
  DESC_OFFSET,
  DESC_OP,
  DESC_WORDS,
  ENDPOINT_ADDRESS,
  ENDPOINT_FAMILY,
  ENDPOINT_PORT,
  Op,
} from "../src/wg/abi.ts";

const SLOT = 2048;
const COUNT = 8;
const SIZE = 1000;

/** A batch in plain memory, as the core's would be: `count` slots. */
function batch(count: number): MemoryBatch & { slots: Uint8Array; desc: Uint32Array } {
  const slots = new Uint8Array(count * SLOT);
  const desc = new Uint32Array(count * DESC_WORDS);
  return {
    count,
    slotSize: SLOT,
    slots,
    desc,
    slotsPointerView: () => slots,
    descView: () => desc,
  } as MemoryBatch & { slots: Uint8Array; desc: Uint32Array };
}

/** COUNT datagrams of SIZE bytes to 127.0.0.1:port, datagram i filled with (i * 17 + j) & 255. */
function outbound(port: number): MemoryBatch {
  const b = batch(COUNT);
  for (let i = 0; i < COUNT; i++) {
    for (let j = 0; j < SIZE; j++) b.slots[i * SLOT + j] = (i * 17 + j) & 255;
    const d = i * DESC_WORDS;
    b.desc[d + DESC_OFFSET] = 0;
    b.desc[d + DESC_LEN] = SIZE;
    b.desc[d + DESC_OP] = Op.Network;
    b.desc[d + DESC_ENDPOINT + ENDPOINT_FAMILY] = 4;
    b.desc[d + DESC_ENDPOINT + ENDPOINT_PORT] = port;
    new Uint8Array(b.desc.buffer, (d + DESC_ENDPOINT + ENDPOINT_ADDRESS) * 4, 4)
      .set([127, 0, 0, 1]);
  }
  return b;
}

/** Receives until COUNT datagrams came (or 2 s passed); returns each one's bytes. */
async function receiveAll(socket: UdpSocket): Promise<Uint8Array[]> {
  const into = batch(64);
  const got: Uint8Array[] = [];
  const until = Date.now() + 2000;
  while (got.length < COUNT && Date.now() < until) {
    const n = socket.recv(into);
    if (n <= 0) {
      await new Promise((r) => setTimeout(r, 5));
      continue;
    }
    for (let i = 0; i < n; i++) {
      const d = i * DESC_WORDS;
      const at = i * SLOT + into.desc[d + DESC_OFFSET];
      got.push(into.slots.slice(at, at + into.desc[d + DESC_LEN]));
    }
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
    const sender = await UdpSocket.open(0);
    const receiver = await UdpSocket.open(0);
    try {
      if ((sender.offloads & UdpOffload.GSO) === 0) {
        throw new Error("This kernel has no UDP GSO (Linux 4.18 or later has it)");
      }
      if (refused) setNoCheck(sender.fd);
      sender.send(outbound(receiver.port), COUNT);
      assertEquals((sender.offloads & UdpOffload.GSO) === 0, refused);
      assertEquals(sender.describeOffloads().startsWith(`UDP GSO ${refused ? "off" : "on"}`), true);
      const got = await receiveAll(receiver);
      assertEquals(got.length, COUNT);
      got.forEach((g, i) => {
        const want = new Uint8Array(SIZE).map((_, j) => (i * 17 + j) & 255);
        assertEquals(g, want);
      });
    } finally {
      sender.close();
      receiver.close();
    }
  });
}
