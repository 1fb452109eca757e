import { deepStrictEqual } from "node:assert";
import { parseCidr } from "../config/cidr.ts";
import { addRouteRequest } from "../netlink/route.ts";
import { encodeRequest, NLM_F_ACK } from "../netlink/message.ts";
import { RouteRequests } from "./routes.ts";

const PREFIXES = [
  "10.100.3.7/32",
  "10.100.3.0/24",
  "10.100.3.9/20",
  "0.0.0.0/0",
  "128.0.0.0/1",
  "fd00:1:2::5/128",
  "fd00:1:2::/48",
  "2001:db8::1/33",
  "::/0",
];

Deno.test("RouteRequests: each request is byte for byte the one route.ts makes (add, acked)", () => {
  const requests = new RouteRequests(7, "add");
  PREFIXES.forEach((text, i) => {
    const cidr = parseCidr(text);
    const want = addRouteRequest(7, cidr);
    deepStrictEqual(
      requests.encode(cidr, 1000 + i),
      encodeRequest({ ...want, flags: want.flags | NLM_F_ACK }, 1000 + i),
      text,
    );
  });
});

Deno.test("RouteRequests: deletes are RTM_DELROUTE without CREATE|EXCL, acked", () => {
  const requests = new RouteRequests(3, "delete");
  PREFIXES.forEach((text, i) => {
    const cidr = parseCidr(text);
    const add = addRouteRequest(3, cidr);
    deepStrictEqual(
      requests.encode(cidr, 0xfffffff0 + i),
      encodeRequest({ ...add, type: 25, flags: 1 | NLM_F_ACK }, 0xfffffff0 + i),
      text,
    );
  });
});
