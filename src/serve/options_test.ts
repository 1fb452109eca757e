import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { parseServeArgs } from "./options.ts";
import { ServeError } from "./error.ts";

const KEY = ["--private-key-file", "k"];

Deno.test("serve: defaults are the documented ones", () => {
  const o = parseServeArgs(KEY);
  assertEquals([o.listenPort, o.name, o.noEgress, o.api], [51820, "serve", false, undefined]);
  assertEquals(o.subnet.prefix, 24);
});

Deno.test("serve: --api needs a token, from a file or a variable, never a flag", () => {
  const refused = (args: string[], re: RegExp) =>
    assertThrows(() => parseServeArgs([...KEY, ...args]), (e: Error) => {
      assertEquals(e instanceof ServeError, true);
      assertEquals(re.test(e.message), true, e.message);
      assertEquals(e.message.includes("\n"), false);
      return true;
    });
  refused(["--api", "0.0.0.0:8443"], /--api needs a token/);
  refused(["--api", "0.0.0.0:8443", "--token", "x"], /'ps'/);
  refused(["--api", "0.0.0.0:8443", "--token-file", "a", "--token-env", "B"], /not both/);
  refused(["--api", "nonsense", "--token-file", "a"], /not ADDR:PORT/);
  refused(["--token-file", "a"], /give --api/);
  refused(["--api", "1.2.3.4:1", "--token-env", "T", "--tls-cert", "c"], /go together/);
  refused(["--subnet", "fd00::/64", "--subnet", "fd01::/64"], /one IPv6 prefix/);
  refused(["--subnet", "10.0.0.0/16", "--subnet", "fd00::/120"], /from \/48 to \/112/);
  refused(["--subnet", "10.0.0.0/31"], /IPv4 prefix/);
  assertThrows(() => parseServeArgs([]), /--private-key-file/);
});

Deno.test("serve: --subnet twice: an IPv4 prefix and an IPv6 one beside it", () => {
  const o = parseServeArgs([...KEY, "--subnet", "fd00:200::/64", "--subnet", "10.9.0.0/16"]);
  assertEquals([o.subnet.prefix, o.subnet6?.prefix, o.subnet6?.family], [16, 64, 6]);
  // An IPv6 prefix alone: the IPv4 subnet is the default one.
  assertEquals(parseServeArgs([...KEY, "--subnet", "fd00::/64"]).subnet.prefix, 24);
  assertEquals(parseServeArgs(KEY).subnet6, undefined);
});

Deno.test("serve: --api takes ADDR:PORT and [V6]:PORT", () => {
  const o = parseServeArgs([...KEY, "--api", "[::]:8443", "--token-env", "T", "--no-egress"]);
  assertEquals(o.api, { hostname: "::", port: 8443 });
  assertEquals(o.noEgress, true);
});

Deno.test("serve: --forward [ADDR:]PORT:KEY:PORT[/udp], repeatable", () => {
  const key = "Pscngd56VqQQ9spzm9mOaUCe0rKnmB6OnNfJ7gw37FM=";
  const o = parseServeArgs([
    ...KEY,
    "--forward",
    `8080:${key}:80`,
    "--forward",
    `127.0.0.1:5353:${key}:53/udp`,
  ]);
  assertEquals(o.forwards, [
    { protocol: "tcp", hostAddress: "0.0.0.0", hostPort: 8080, publicKey: key, clientPort: 80 },
    { protocol: "udp", hostAddress: "127.0.0.1", hostPort: 5353, publicKey: key, clientPort: 53 },
  ]);
  assertThrows(() => parseServeArgs([...KEY, "--forward", `8080:${key}`]), /is not \[ADDR:\]PORT/);
  assertThrows(() => parseServeArgs([...KEY, "--forward", "8080:short=:80"]), /public key/);
  assertThrows(() => parseServeArgs([...KEY, "--forward", `0:${key}:80`]), /not a port/);
});
