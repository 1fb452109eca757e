import { deepStrictEqual, strictEqual, throws } from "node:assert";
import {
  formatLocalForward,
  isDnsName,
  isLoopback,
  parseListen,
  parseLocalForward,
} from "./spec.ts";

Deno.test("-L takes an optional host address, a tunnel address or name, and a protocol", () => {
  const cases: [string, string][] = [
    ["15432:10.0.0.5:5432", "127.0.0.1:15432:10.0.0.5:5432/tcp"],
    ["0.0.0.0:15432:10.0.0.5:5432/tcp", "0.0.0.0:15432:10.0.0.5:5432/tcp"],
    ["5353:10.0.0.1:53/UDP", "127.0.0.1:5353:10.0.0.1:53/udp"],
    ["[::1]:8080:[fd00::5]:80", "[::1]:8080:[fd00::5]:80/tcp"],
    ["8080:DB.Internal.:80", "127.0.0.1:8080:db.internal.:80/tcp"],
  ];
  for (const [text, canonical] of cases) {
    strictEqual(formatLocalForward(parseLocalForward(text)), canonical);
  }
  deepStrictEqual(parseLocalForward("1:db:2").target, { kind: "name", name: "db" });
});

Deno.test("-L refuses what it cannot follow, with a short reason", () => {
  const cases: [string, RegExp][] = [
    ["15432:10.0.0.5", /give HOST_PORT:TUNNEL_HOST:PORT/],
    ["1:2:3:4:5", /too many ':'/],
    ["8080:fd00::5:80", /too many ':'/],
    ["8080:[fd00::5:80", /not closed/],
    ["8080:10.0.0.300:80", /not an IP address/],
    ["8080:bad_name!:80", /neither an IP address nor a host name/],
    ["8080::80", /the tunnel host is empty/],
    ["0:10.0.0.1:80", /out of range/],
    ["8080:10.0.0.1:80/sctp", /not tcp or udp/],
    [`8080:${"a".repeat(64)}.test:80`, /neither an IP address nor a host name/],
  ];
  for (const [text, reason] of cases) throws(() => parseLocalForward(text), reason, text);
});

Deno.test("a proxy's [HOST_ADDR:]PORT", () => {
  strictEqual(parseListen("1080").hostPort, 1080);
  deepStrictEqual(parseListen("[::1]:1080").hostAddress.family, 6);
  throws(() => parseListen("localhost:1080"), /not an IP address/);
  throws(() => parseListen("1080:1"), /.1080. is not an IP address/);
  throws(() => parseListen("127.0.0.1:1:2"), /too many .:./);
  throws(() => parseListen("99999"), /out of range/);
});

Deno.test("names DNS can carry, and loopback addresses", () => {
  strictEqual(isDnsName("web.tunnel.test"), true);
  strictEqual(isDnsName("_srv.x-y.test."), true);
  strictEqual(isDnsName("-bad.test"), false);
  strictEqual(isDnsName("a..b"), false);
  strictEqual(
    isDnsName(`${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`),
    true,
  );
  strictEqual(
    isDnsName(`${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(62)}`),
    false,
  );
  strictEqual(isLoopback(parseListen("127.0.0.2:1").hostAddress), true);
  strictEqual(isLoopback(parseListen("[::1]:1").hostAddress), true);
  strictEqual(isLoopback(parseListen("0.0.0.0:1").hostAddress), false);
  strictEqual(isLoopback(parseListen("[::]:1").hostAddress), false);
});
