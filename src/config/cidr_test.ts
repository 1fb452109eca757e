import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { formatCidr, maskCidr, parseCidr, sameCidr } from "./cidr.ts";

Deno.test("parseCidr without a prefix means a single host: /32 or /128", () => {
  strictEqual(formatCidr(parseCidr("10.0.0.2")), "10.0.0.2/32");
  strictEqual(formatCidr(parseCidr("fd00::2")), "fd00::2/128");
});

Deno.test("parseCidr keeps host bits, maskCidr clears them", () => {
  const cidr = parseCidr("10.1.2.3/20");
  strictEqual(formatCidr(cidr), "10.1.2.3/20");
  strictEqual(formatCidr(maskCidr(cidr)), "10.1.0.0/20");
  strictEqual(formatCidr(maskCidr(parseCidr("fd00:1:2:3:4::5/61"))), "fd00:1:2::/61");
  strictEqual(formatCidr(maskCidr(parseCidr("10.255.255.255/0"))), "0.0.0.0/0");
  strictEqual(formatCidr(maskCidr(parseCidr("10.0.0.255/31"))), "10.0.0.254/31");
  strictEqual(formatCidr(parseCidr("::/0")), "::/0");
});

Deno.test("maskCidr leaves the input untouched", () => {
  const cidr = parseCidr("10.0.0.7/24");
  maskCidr(cidr);
  deepStrictEqual(cidr.address, new Uint8Array([10, 0, 0, 7]));
});

Deno.test("parseCidr refuses bad prefixes, bad addresses and zone ids with a reason", () => {
  const cases: [string, RegExp][] = [
    ["10.0.0.1/33", /prefix length 33 is over 32/],
    ["fd00::/129", /prefix length 129 is over 128/],
    ["10.0.0.1/", /the prefix length after '\/' is missing/],
    ["10.0.0.1/-1", /'\/-1' is not a prefix length/],
    ["10.0.0.1/08", /'\/08' is not a prefix length/],
    ["10.0.0.1/2/3", /'\/2\/3' is not a prefix length/],
    ["/24", /the address is missing/],
    ["10.0.0.300/24", /300 is over 255/],
    ["fe80::1%eth0/64", /zone ids/],
    ["host.example/32", /expected 4 dot-separated numbers, found 2/],
  ];
  for (const [text, reason] of cases) throws(() => parseCidr(text), reason, text);
});

Deno.test("sameCidr compares family, bytes and prefix", () => {
  strictEqual(sameCidr(parseCidr("10.0.0.0/8"), parseCidr("10.0.0.0/8")), true);
  strictEqual(sameCidr(parseCidr("10.0.0.0/8"), parseCidr("10.0.0.0/9")), false);
  strictEqual(sameCidr(parseCidr("::/0"), parseCidr("0.0.0.0/0")), false);
});
