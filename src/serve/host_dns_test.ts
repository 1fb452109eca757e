import { deepStrictEqual } from "node:assert/strict";
import { hostDns } from "./host_dns.ts";

Deno.test("hostDns: the host's IPv4 servers off its loopback, at most three, none for a hub", () => {
  const text = [
    "# a comment",
    "nameserver 127.0.0.53",
    "search corp.example",
    "nameserver 10.0.0.1",
    "nameserver fd00::1",
    "  nameserver 10.0.0.2 # the C library reads the first word",
    "nameserver 10.0.0.3",
    "nameserver 10.0.0.4",
  ].join("\n");
  deepStrictEqual(hostDns(false, text), ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
  deepStrictEqual(hostDns(true, text), []);
  deepStrictEqual(hostDns(false, ""), []);
});
