import { deepStrictEqual, strictEqual, throws } from "node:assert";
import {
  align,
  decodeAttributes,
  decodeMessages,
  encodeRequest,
  HOST_LITTLE_ENDIAN,
  readString,
  readU32,
  stringAttribute,
  u32Attribute,
} from "./message.ts";
import { bytesOf, hex } from "../../testdata/netlink/hex.ts";

// The expected bytes in these tests are little-endian, as on x86_64 and arm64.
Deno.test("the netlink tests run on a little-endian host", () => {
  strictEqual(HOST_LITTLE_ENDIAN, true);
});

Deno.test("align rounds lengths up to multiples of 4", () => {
  deepStrictEqual([0, 1, 3, 4, 5, 7, 8, 17].map(align), [0, 4, 4, 4, 8, 8, 8, 20]);
});

Deno.test("encodeRequest writes the header, the family header and padded attributes", () => {
  const encoded = encodeRequest({
    type: 18,
    flags: 0x1,
    header: new Uint8Array(16),
    attributes: [stringAttribute(3, "lo"), u32Attribute(29, 8)],
  }, 7);
  // nlmsghdr: len 48, type 18, flags 1, seq 7, pid 0; ifinfomsg: 16 zero bytes;
  // rtattr len 7 type 3 "lo\0" + 1 pad byte; rtattr len 8 type 29 u32 8.
  strictEqual(
    hex(encoded),
    hex(bytesOf(`
      30000000 12000100 07000000 00000000
      00000000 00000000 00000000 00000000
      07000300 6c6f0000
      08001d00 08000000`)),
  );
});

Deno.test("encodeRequest pads a family header that is not a multiple of 4", () => {
  const encoded = encodeRequest({
    type: 1,
    flags: 0,
    header: new Uint8Array([9, 9]),
    attributes: [],
  }, 1);
  strictEqual(hex(encoded), "14000000 01000000 01000000 00000000 09090000");
});

Deno.test("decodeMessages splits a datagram into aligned messages", () => {
  const datagram = bytesOf(`
    14000000 10000200 05000000 2a000000 aabbcc00
    11000000 03000200 05000000 2a000000 00000000 00000000`);
  const [first, second] = decodeMessages(datagram);
  deepStrictEqual({ ...first, payload: hex(first.payload) }, {
    type: 16,
    flags: 2,
    seq: 5,
    pid: 42,
    payload: "aabbcc00",
  });
  deepStrictEqual({ ...second, payload: hex(second.payload) }, {
    type: 3,
    flags: 2,
    seq: 5,
    pid: 42,
    payload: "00",
  });
});

Deno.test("decodeMessages refuses a length that runs past the datagram", () => {
  throws(
    () => decodeMessages(bytesOf("40000000 10000200 05000000 2a000000")),
    /Cannot read a netlink reply: a message at byte 0 claims 64 bytes of 16 left/,
  );
  throws(() => decodeMessages(bytesOf("08000000 10000200 05000000 2a000000")), /claims 8 bytes/);
});

Deno.test("decodeAttributes clears flag bits, keeps the last of a repeated type, stops at a bad length", () => {
  const attributes = decodeAttributes(bytesOf(`
    08000400 01000000
    08000480 02000000
    05000300 41000000
    ff000100 00000000`));
  deepStrictEqual([...attributes.keys()], [4, 3]);
  strictEqual(readU32(attributes.get(4)), 2);
  strictEqual(readString(attributes.get(3)), "A");
});

Deno.test("readU32 and readString return undefined for absent or short attributes", () => {
  strictEqual(readU32(undefined), undefined);
  strictEqual(readU32(new Uint8Array(3)), undefined);
  strictEqual(readString(undefined), undefined);
  strictEqual(readString(new TextEncoder().encode("wg0")), "wg0");
});
