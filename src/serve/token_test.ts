import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { tokenMatches } from "./token.ts";
import { RateLimiter } from "./api.ts";
import { ruleset } from "./egress.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("token: only the same bytes match, whatever their length", async () => {
  const token = bytes("0123456789abcdef0123");
  assertEquals(await tokenMatches(token, bytes("0123456789abcdef0123")), true);
  assertEquals(await tokenMatches(token, bytes("0123456789abcdef012")), false);
  assertEquals(await tokenMatches(token, bytes("")), false);
  assertEquals(await tokenMatches(token, bytes("0123456789abcdef0124")), false);
});

Deno.test("api: the rate limiter allows a burst, then the rate, per source", () => {
  const r = new RateLimiter(3, 2);
  const at0 = [1, 2, 3, 4].map(() => r.allow("a", 0));
  assertEquals(at0, [true, true, true, false]);
  assertEquals(r.allow("b", 0), true);
  assertEquals([r.allow("a", 499), r.allow("a", 500), r.allow("a", 500)], [false, true, false]);
});

Deno.test("egress: --no-egress leaves the hub only; otherwise the host's addresses are dropped", () => {
  const common = { subnet: "10.200.0.0/24", peers: ["10.200.0.1"] };
  const hub = ruleset({ tunName: "wg0", noEgress: true, hostAddresses: ["192.0.2.1"], ...common });
  assertEquals(hub.includes("masquerade"), false);
  assertEquals(hub.includes('iifname "wg0" oifname "wg0" accept'), true);
  assertEquals(hub.includes("policy drop"), true);
  const exit = ruleset({
    tunName: "wg0",
    noEgress: false,
    hostAddresses: ["192.0.2.1"],
    ...common,
  });
  assertEquals(exit.includes("elements = { 10.200.0.1 }"), true);
  assertEquals(exit.includes("ip daddr != @peers meta l4proto tcp reject with tcp reset"), true);
  assertEquals(exit.includes("ip daddr { 192.0.2.1 } drop"), true);
  assertEquals(
    exit.indexOf("drop\n") < exit.indexOf('oifname != "wg0" meta nfproto ipv4 accept'),
    true,
  );
  assertEquals(exit.includes("masquerade"), true);
});
