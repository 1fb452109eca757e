import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Subnet, Subnet6 } from "./subnet.ts";
import { parseCidr } from "../config/cidr.ts";

Deno.test("subnet: the server takes .1, clients the lowest free address", () => {
  const s = new Subnet(parseCidr("10.200.0.0/24"));
  assertEquals([s.serverAddress, s.network, s.capacity], ["10.200.0.1/24", "10.200.0.0/24", 253]);
  assertEquals(s.allocate(new Set()), "10.200.0.2");
  assertEquals(s.allocate(new Set(["10.200.0.2", "10.200.0.4"])), "10.200.0.3");
  assertEquals([s.hostOf("10.200.0.1"), s.hostOf("10.200.0.9"), s.hostOf("10.201.0.9")], [
    undefined,
    9,
    undefined,
  ]);
});

Deno.test("subnet: a full subnet allocates nothing (no network, server or broadcast address)", () => {
  const s = new Subnet(parseCidr("10.9.9.8/29"));
  const used = new Set<string>();
  for (;;) {
    const a = s.allocate(used);
    if (a === undefined) break;
    used.add(a);
  }
  assertEquals([...used], ["10.9.9.10", "10.9.9.11", "10.9.9.12", "10.9.9.13", "10.9.9.14"]);
  assertEquals(used.size, s.capacity);
});

Deno.test("subnet6: the same host numbers in the IPv6 prefix", () => {
  const s = new Subnet6(parseCidr("fd00:200::5/64"));
  assertEquals([s.serverAddress, s.network], ["fd00:200::1/64", "fd00:200::/64"]);
  const v4 = new Subnet(parseCidr("10.200.0.0/20"));
  assertEquals(s.address(v4.hostOf("10.200.1.2")!), "fd00:200::102");
});
