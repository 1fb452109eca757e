import nodeAssert from "node:assert/strict";
import {
  encodeRequest,
  FLAG_MAP_ROOT,
  FLAG_NO_USERNS,
  REQUEST_HEADER,
  REQUEST_VERSION,
} from "./request.ts";

const BASE = {
  argv: ["ip", "-o", "link"],
  tunName: "wg0",
  mapRoot: false,
  noUserns: false,
  hostname: "",
  resolvConf: "nameserver 10.0.0.1\n",
  hosts: "127.0.0.1 localhost\n",
  nsswitchConf: "hosts: files dns\n",
  path: "/usr/bin:/bin",
  hidePaths: [] as string[],
  initFd: 7,
};

function strings(req: Uint8Array): string[] {
  const text = new TextDecoder().decode(req.subarray(REQUEST_HEADER));
  nodeAssert.equal(text.at(-1), "\0", "the last string is NUL-terminated");
  return text.slice(0, -1).split("\0");
}

Deno.test("encodeRequest writes the header and the strings in the order of cage.h", () => {
  const req = encodeRequest({
    ...BASE,
    mapRoot: true,
    hostname: "cage",
    hidePaths: ["/run/nscd/socket"],
  });
  const v = new DataView(req.buffer);
  nodeAssert.equal(v.getUint32(0, true), REQUEST_VERSION);
  nodeAssert.equal(v.getUint32(4, true), FLAG_MAP_ROOT);
  nodeAssert.equal(v.getUint32(8, true), 3);
  nodeAssert.equal(v.getUint32(12, true), 1);
  nodeAssert.equal(v.getUint32(16, true), 7);
  nodeAssert.equal(v.getUint32(20, true), 0);
  nodeAssert.deepEqual(strings(req), [
    "wg0",
    "cage",
    "nameserver 10.0.0.1\n",
    "127.0.0.1 localhost\n",
    "hosts: files dns\n",
    "/usr/bin:/bin",
    "/run/nscd/socket",
    "ip",
    "-o",
    "link",
  ]);
});

Deno.test("encodeRequest sets the no-userns flag", () => {
  const req = encodeRequest({ ...BASE, noUserns: true });
  nodeAssert.equal(new DataView(req.buffer).getUint32(4, true), FLAG_NO_USERNS);
});

Deno.test("encodeRequest keeps empty arguments and UTF-8", () => {
  const req = encodeRequest({ ...BASE, argv: ["echo", "", "é"] });
  nodeAssert.deepEqual(strings(req).slice(6), ["echo", "", "é"]);
  nodeAssert.equal(new DataView(req.buffer).getUint32(4, true), 0);
});

Deno.test("encodeRequest refuses what the launcher cannot take", () => {
  nodeAssert.throws(() => encodeRequest({ ...BASE, argv: [] }), RangeError);
  nodeAssert.throws(() => encodeRequest({ ...BASE, argv: [""] }), RangeError);
  nodeAssert.throws(() => encodeRequest({ ...BASE, tunName: "" }), RangeError);
  nodeAssert.throws(() => encodeRequest({ ...BASE, tunName: "a-name-of-16-chr" }), RangeError);
  nodeAssert.throws(() => encodeRequest({ ...BASE, tunName: "wg 0" }), RangeError);
  nodeAssert.throws(() => encodeRequest({ ...BASE, argv: ["a\0b"] }), TypeError);
  nodeAssert.throws(() => encodeRequest({ ...BASE, hosts: "a\0b" }), TypeError);
  nodeAssert.throws(() => encodeRequest({ ...BASE, hidePaths: ["run/x"] }), RangeError);
  nodeAssert.throws(() => encodeRequest({ ...BASE, initFd: -1 }), RangeError);
  nodeAssert.doesNotThrow(() => encodeRequest({ ...BASE, tunName: "a-name-of-15-ch" }));
});
