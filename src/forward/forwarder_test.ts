import { bindFailure, listenFailure } from "./forwarder.ts";
import { parseLocalForward, parsePublish } from "./spec.ts";
import {
  EACCES,
  EADDRINUSE,
  EADDRNOTAVAIL,
  EAFNOSUPPORT,
  ECONNREFUSED,
} from "../launcher/errno.ts";

function assertEquals(actual: string, expected: string): void {
  if (actual !== expected) throw new Error(`expected:\n${expected}\ngot:\n${actual}`);
}

/** What the EACCES lines name as the first unprivileged port. */
function portStart(): string {
  try {
    return Deno.readTextFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start").trim();
  } catch {
    return "1024";
  }
}

Deno.test("bindFailure: -p's one line for each way a host port fails to bind", () => {
  const p = parsePublish("127.0.0.1:8080:80");
  const what = "wgcage: Cannot publish 127.0.0.1:8080/tcp";
  assertEquals(
    bindFailure(p, EADDRINUSE),
    `${what}: the port is in use on the host; choose another host port, e.g. -p 8081:80`,
  );
  assertEquals(
    bindFailure(parsePublish("65535:80/udp"), EADDRINUSE),
    "wgcage: Cannot publish 127.0.0.1:65535/udp: the port is in use on the host; " +
      "choose another host port, e.g. -p 8080:80",
  );
  assertEquals(
    bindFailure(p, EACCES),
    `${what}: ports below ${portStart()} need root (net.ipv4.ip_unprivileged_port_start); ` +
      "choose a host port of 1024 or above, e.g. -p 16080:80",
  );
  assertEquals(
    bindFailure(parsePublish("[::1]:8080:80"), EADDRNOTAVAIL),
    "wgcage: Cannot publish [::1]:8080/tcp: [::1] is not an address of this host; " +
      "give one it has, e.g. 127.0.0.1",
  );
  assertEquals(
    bindFailure(p, EAFNOSUPPORT),
    `${what}: this host has no IPv6; give an IPv4 address, e.g. 127.0.0.1`,
  );
  assertEquals(bindFailure(p, ECONNREFUSED), `${what}: connection refused`);
});

Deno.test("listenFailure: -L's and the proxies' one line for each way a host port fails to bind", () => {
  const spec = parseLocalForward("127.0.0.1:15432:db.internal:5432");
  const l = { option: "-L", text: "15432:db.internal:5432", ...spec };
  const what = "wgcage: Cannot listen on 127.0.0.1:15432/tcp for -L";
  assertEquals(
    listenFailure(l, EADDRINUSE),
    `${what}: the port is in use on the host; choose another, e.g. 15433`,
  );
  assertEquals(
    listenFailure({ ...l, option: "--socks", hostPort: 65535 }, EADDRINUSE),
    "wgcage: Cannot listen on 127.0.0.1:65535/tcp for --socks: the port is in use on the host; " +
      "choose another, e.g. 8080",
  );
  assertEquals(
    listenFailure(l, EACCES),
    `${what}: ports below ${portStart()} need root (net.ipv4.ip_unprivileged_port_start); ` +
      "choose one of 1024 or above, e.g. 23432",
  );
  assertEquals(
    listenFailure(l, EADDRNOTAVAIL),
    `${what}: 127.0.0.1 is not an address of this host; give one it has, e.g. 127.0.0.1`,
  );
  assertEquals(
    listenFailure(l, EAFNOSUPPORT),
    `${what}: this host has no IPv6; give an IPv4 address, e.g. 127.0.0.1`,
  );
  assertEquals(listenFailure(l, ECONNREFUSED), `${what}: connection refused`);
});
