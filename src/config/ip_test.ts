import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { formatIp, isIp, parseIp, parseIpv4, parseIpv6 } from "./ip.ts";

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

Deno.test("parseIpv4 reads dotted quads including the edges 0 and 255", () => {
  deepStrictEqual(parseIpv4("10.0.0.2"), bytes(10, 0, 0, 2));
  deepStrictEqual(parseIpv4("0.0.0.0"), bytes(0, 0, 0, 0));
  deepStrictEqual(parseIpv4("255.255.255.255"), bytes(255, 255, 255, 255));
});

Deno.test("parseIpv4 refuses malformed quads with a reason", () => {
  const cases: [string, RegExp][] = [
    ["10.0.0", /expected 4 dot-separated numbers, found 3/],
    ["10.0.0.0.1", /found 5/],
    ["10.0.0.256", /256 is over 255/],
    ["10..0.1", /empty number between dots/],
    ["10.0.0.01", /'01' is not a decimal number/],
    ["10.0.0.x", /'x' is not a decimal number/],
    ["10.0.0.-1", /'-1' is not/],
    [" 10.0.0.1", /' 10' is not/],
    ["", /found 1/],
  ];
  for (const [text, reason] of cases) throws(() => parseIpv4(text), reason, text);
});

Deno.test("parseIpv6 expands :: compression at the start, middle and end", () => {
  deepStrictEqual(parseIpv6("::"), new Uint8Array(16));
  deepStrictEqual(parseIpv6("::1"), bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1));
  deepStrictEqual(
    parseIpv6("fd00::"),
    bytes(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
  );
  deepStrictEqual(
    parseIpv6("2001:DB8::8:800:200c:417a"),
    bytes(0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 8, 8, 0, 0x20, 0x0c, 0x41, 0x7a),
  );
  deepStrictEqual(
    parseIpv6("1:2:3:4:5:6:7:8"),
    bytes(0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8),
  );
  deepStrictEqual(
    parseIpv6("1:2:3:4:5:6:7::"),
    bytes(0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0),
  );
});

Deno.test("parseIpv6 reads an embedded IPv4 tail as the last two groups", () => {
  deepStrictEqual(
    parseIpv6("::ffff:10.0.0.1"),
    bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1),
  );
  deepStrictEqual(
    parseIpv6("64:ff9b::192.0.2.33"),
    bytes(0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 33),
  );
  deepStrictEqual(
    parseIpv6("1:2:3:4:5:6:1.2.3.4"),
    bytes(0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 1, 2, 3, 4),
  );
});

Deno.test("parseIpv6 refuses malformed addresses with a reason", () => {
  const cases: [string, RegExp][] = [
    ["1::2::3", /'::' may appear only once/],
    ["1:2:3:4:5:6:7", /expected 8 groups, found 7/],
    ["1:2:3:4:5:6:7:8:9", /found 9/],
    ["1:2:3:4:5:6:7:8::", /already has 8/],
    ["::1:2:3:4:5:6:7:8", /already has 8/],
    ["12345::", /'12345' is not a group of 1-4 hex digits/],
    ["fg::1", /'fg' is not a group/],
    [":1:2:3:4:5:6:7", /empty group/],
    ["1:2:3:4:5:6:7:", /empty group/],
    [":::", /empty group/],
    ["1.2.3.4::", /'1.2.3.4' is not a group/],
    ["::1.2.3.4:5", /'1.2.3.4' is not a group/],
    ["::1.2.3.256", /256 is over 255/],
    ["1:2:3:4:5:6:7:1.2.3.4", /found 9/],
    ["fe80::1%eth0", /zone ids/],
  ];
  for (const [text, reason] of cases) throws(() => parseIpv6(text), reason, text);
});

Deno.test("formatIp writes RFC 5952 text and round-trips through parseIp", () => {
  const cases: [string, string][] = [
    ["10.0.0.2", "10.0.0.2"],
    ["::", "::"],
    ["::1", "::1"],
    ["FD00:0:0:0:0:0:0:2", "fd00::2"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
    ["::ffff:10.0.0.1", "::ffff:10.0.0.1"],
    ["0:0:0:0:0:ffff:a00:1", "::ffff:10.0.0.1"],
    ["1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0"],
    ["fd99:0:0:0:0:0:0:1", "fd99::1"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["1:0:2:0:0:3:0:0", "1:0:2::3:0:0"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
  ];
  for (const [text, formatted] of cases) {
    strictEqual(formatIp(parseIp(text).bytes), formatted, text);
    deepStrictEqual(parseIp(formatted).bytes, parseIp(text).bytes, formatted);
  }
});

Deno.test("formatIp refuses a byte count that is not 4 or 16", () => {
  throws(() => formatIp(new Uint8Array(5)), RangeError);
});

Deno.test("parseIp picks the family by the presence of a colon; isIp says yes or no", () => {
  strictEqual(parseIp("127.0.0.1").family, 4);
  strictEqual(parseIp("::1").family, 6);
  strictEqual(isIp("vpn.example.com"), false);
  strictEqual(isIp("10.0.0.1"), true);
});

/** Random IPv6 bytes with many zero groups, so that compression cases come up often. */
function randomIpv6(): Uint8Array {
  const out = new Uint8Array(16);
  for (let group = 0; group < 8; group++) {
    if (Math.random() < 0.5) continue;
    out[2 * group] = Math.random() < 0.5 ? 0 : Math.floor(Math.random() * 256);
    out[2 * group + 1] = Math.floor(Math.random() * 256);
  }
  return out;
}

/** The WHATWG URL parser as an independent IPv6 reference (no v4-mapped form). */
function urlHost(text: string): string {
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

Deno.test("formatIp and parseIpv6 agree with the URL parser on random addresses", () => {
  for (let i = 0; i < 2000; i++) {
    const bytes = randomIpv6();
    const text = formatIp(bytes);
    deepStrictEqual(parseIpv6(text), bytes, text);
    const v4Mapped = text.startsWith("::ffff:") && text.includes(".");
    if (!v4Mapped) strictEqual(text, urlHost(text), text);
    const groups = Array.from(
      { length: 8 },
      (_, g) => ((bytes[2 * g] << 8) | bytes[2 * g + 1]).toString(16).toUpperCase(),
    );
    const longhand = groups.join(":");
    deepStrictEqual(parseIpv6(longhand), bytes, longhand);
    strictEqual(formatIp(parseIpv6(urlHost(longhand))), text, longhand);
  }
});
