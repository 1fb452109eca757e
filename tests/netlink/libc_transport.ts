/**
 * A test-only {@linkcode NetlinkTransport}: a NETLINK_ROUTE socket opened
 * through libc with `Deno.dlopen`, in whatever network namespace the process
 * runs in. (wgcage itself gets its socket from the cage's child.)
 *
 * @module
 */

import type { NetlinkTransport } from "../../src/netlink/transport.ts";

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0x80000;
const NETLINK_ROUTE = 0;
const SOL_NETLINK = 270;
const NETLINK_EXT_ACK = 11;
const MSG_TRUNC = 0x20;
const EINTR = 4;

const libc = Deno.dlopen("libc.so.6", {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
});

function errno(): number {
  const pointer = libc.symbols.__errno_location();
  return pointer === null ? 0 : new Deno.UnsafePointerView(pointer).getInt32();
}

function check(result: number | bigint, what: string): number {
  const value = Number(result);
  if (value < 0) throw new Error(`Cannot ${what}: errno ${errno()}`);
  return value;
}

/** A netlink socket plus its transport; `close()` when done. */
export interface LibcNetlinkSocket {
  readonly transport: NetlinkTransport;
  close(): void;
}

/**
 * Opens a NETLINK_ROUTE socket bound to a kernel-assigned port id, with
 * extended acks on (so errors carry the kernel's own explanation).
 */
export function openLibcNetlink(): LibcNetlinkSocket {
  const fd = check(
    libc.symbols.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE),
    "open a netlink socket",
  );
  const address = new Uint8Array(12);
  new DataView(address.buffer).setUint16(0, AF_NETLINK, true);
  try {
    check(libc.symbols.bind(fd, address, address.length), "bind the netlink socket");
    const on = new Uint8Array(new Int32Array([1]).buffer);
    check(libc.symbols.setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, on, 4), "enable extended acks");
  } catch (error) {
    libc.symbols.close(fd);
    throw error;
  }
  const transport: NetlinkTransport = {
    send(msg) {
      const sent = check(
        libc.symbols.send(fd, msg, BigInt(msg.length), 0),
        "send a netlink request",
      );
      if (sent !== msg.length) {
        throw new Error(`Cannot send a netlink request: sent ${sent} of ${msg.length} bytes`);
      }
    },
    recv(buf) {
      for (;;) {
        const got = Number(libc.symbols.recv(fd, buf, BigInt(buf.length), MSG_TRUNC));
        if (got >= 0) return got;
        const code = errno();
        if (code !== EINTR) throw new Error(`Cannot read a netlink reply: errno ${code}`);
      }
    },
  };
  return { transport, close: () => void libc.symbols.close(fd) };
}
