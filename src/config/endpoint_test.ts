import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { formatEndpoint, parseEndpointSpec, parseIpv6WithZone, parsePort } from "./endpoint.ts";

Deno.test("parseEndpointSpec reads names, IPv4, bracketed IPv6 and zones", () => {
  deepStrictEqual(parseEndpointSpec("vpn.example.com:51820"), {
    host: "vpn.example.com",
    port: 51820,
  });
  deepStrictEqual(parseEndpointSpec("localhost:1"), { host: "localhost", port: 1 });
  deepStrictEqual(parseEndpointSpec("127.0.0.1:65535"), { host: "127.0.0.1", port: 65535 });
  deepStrictEqual(parseEndpointSpec("[::1]:51820"), { host: "::1", port: 51820 });
  deepStrictEqual(parseEndpointSpec("[fe80::1%eth0]:51820"), { host: "fe80::1%eth0", port: 51820 });
  deepStrictEqual(parseEndpointSpec("my_host.lan.:9"), { host: "my_host.lan.", port: 9 });
});

Deno.test("parseEndpointSpec refuses broken endpoints with a reason", () => {
  const cases: [string, RegExp][] = [
    ["vpn.example.com", /the ':PORT' is missing/],
    [":51820", /the host is missing/],
    ["vpn.example.com:", /the port is empty/],
    ["vpn.example.com:http", /'http' is not a port number/],
    ["vpn.example.com:65536", /port 65536 is outside 1..65535/],
    ["vpn.example.com:0", /port 0 is outside 1..65535/],
    ["::1:51820", /needs brackets/],
    ["[::1]51820", /the ':PORT' after '\]' is missing/],
    ["[::1:51820", /the '\]' after the IPv6 address is missing/],
    ["[10.0.0.1]:1", /expected 8 groups/],
    ["10.0.0.256:1", /256 is over 255/],
    ["bad host:1", /'bad host' is not a host name or IP address/],
    ["-lead.example:1", /is not a host name/],
    ["[fe80::1%]:1", /'' is not an interface name or index/],
  ];
  for (const [text, reason] of cases) throws(() => parseEndpointSpec(text), reason, text);
});

Deno.test("parsePort allows 0 only when asked", () => {
  strictEqual(parsePort("0", true), 0);
  throws(() => parsePort("0"), /outside 1..65535/);
  throws(() => parsePort("123456", true), /is not a port number/);
});

Deno.test("parseIpv6WithZone splits the zone off", () => {
  deepStrictEqual(parseIpv6WithZone("fe80::1%3").zone, "3");
  strictEqual(parseIpv6WithZone("fe80::1").zone, undefined);
});

Deno.test("formatEndpoint writes specs and resolved endpoints, bracketing IPv6", () => {
  strictEqual(formatEndpoint({ host: "vpn.example.com", port: 51820 }), "vpn.example.com:51820");
  strictEqual(formatEndpoint({ host: "fd00::1", port: 4500 }), "[fd00::1]:4500");
  strictEqual(
    formatEndpoint({ family: 4, port: 51820, scopeId: 0, address: new Uint8Array([127, 0, 0, 1]) }),
    "127.0.0.1:51820",
  );
  const v6 = new Uint8Array(16);
  v6[0] = 0xfe;
  v6[1] = 0x80;
  v6[15] = 1;
  strictEqual(formatEndpoint({ family: 6, port: 1, scopeId: 0, address: v6 }), "[fe80::1]:1");
  strictEqual(formatEndpoint({ family: 6, port: 1, scopeId: 2, address: v6 }), "[fe80::1%2]:1");
});
