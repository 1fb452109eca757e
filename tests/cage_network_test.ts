/**
 * The cage's network, /etc and identity, seen from inside, rootless (uid
 * 65534) and as root: exactly lo and the TUN, the configured MTU, addresses
 * and routes, the generated resolv.conf, working `getent hosts localhost`, the
 * caller's uid (or 0 with mapRoot), unprivileged ping sockets, and packets
 * both ways through the TUN fd.
 */

import { assert, assertEquals, assertMatch } from "./cage/assert.ts";
import { DriverEnv, type Who } from "./cage/harness.ts";
import { parseUdp, udp4Packet } from "../testdata/packets.ts";

const NET = {
  mtu: 1380,
  addresses: ["10.7.0.2/24", "fd07::2/64"],
  routes: ["10.8.0.0/16", "fd08::/32"],
  dns: ["10.7.0.53", "fd07::53"],
};

/** Splits the output of `sh -c 'echo @name; …'` into sections. */
function sections(stdout: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let current = "";
  for (const line of stdout.split("\n")) {
    if (line.startsWith("@")) {
      current = line.slice(1);
      out[current] = [];
    } else if (line.trim() !== "") {
      out[current]?.push(line.trim());
    }
  }
  return out;
}

const PROBE = [
  "echo @links; ip -o link | cut -d: -f2,3 | cut -d' ' -f2,5",
  "echo @addr4; ip -o -4 addr show dev wg0 | awk '{print $4}'",
  "echo @addr6; ip -o -6 addr show dev wg0 scope global | awk '{print $4}'",
  "echo @route4; ip -4 route show | cut -d' ' -f1-3",
  "echo @route6; ip -6 route show | grep -v '^fe80' | cut -d' ' -f1-3",
  "echo @resolv; cat /etc/resolv.conf",
  "echo @getent; getent hosts localhost",
  "echo @hostname; hostname",
  "echo @getent_name; getent -s files hosts cagey",
  "echo @uid; id -u; id -g",
  "echo @pid; echo $$",
  "echo @ping; /usr/bin/python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP); s.settimeout(2); s.sendto(bytes([8, 0, 0, 0, 0, 0, 0, 1]), (\"127.0.0.1\", 0)); print(s.recvfrom(64)[0][0])'",
].join("; ");

for (const who of ["nobody", "root"] as Who[]) {
  Deno.test(`cage (${who}): the command sees only lo and the TUN, configured as asked`, async () => {
    const env = await DriverEnv.create(who);
    try {
      const r = await env.run({ ...NET, hostname: "cagey" }, ["sh", "-c", PROBE]);
      assertEquals(r.code, 0, r.stderr);
      const s = sections(r.stdout);
      assertEquals(s.links, ["lo: 65536", "wg0: 1380"], r.stdout);
      assertEquals(s.addr4, ["10.7.0.2/24"]);
      assertEquals(s.addr6, ["fd07::2/64"]);
      assertEquals(s.route4.sort(), ["10.7.0.0/24 dev wg0", "10.8.0.0/16 dev wg0"]);
      assertEquals(s.route6.sort(), ["fd07::/64 dev wg0", "fd08::/32 dev wg0"]);
      assertEquals(s.resolv.filter((l) => !l.startsWith("#") && !l.startsWith("options")), [
        "nameserver 10.7.0.53",
        "nameserver fd07::53",
      ]);
      assertEquals(s.hostname, ["cagey"]);
      assertMatch(s.getent_name.join("\n"), /^\S+\s+cagey$/);
      assertMatch(s.getent.join("\n"), /^(127\.0\.0\.1|::1)\s+localhost/);
      const ids = who === "root" ? ["0", "0"] : ["65534", "65534"];
      assertEquals(s.uid, ids);
      assertEquals(s.pid, ["2"], "the command is the first child of the cage's init (PID 1)");
      assertEquals(
        s.ping,
        ["0"],
        "an ICMP echo reply (type 0) through an unprivileged ping socket",
      );
      assertEquals(await env.leftovers(), [], "the cage removed its temp files");
    } finally {
      await env.close();
    }
  });

  Deno.test(`cage (${who}): /sys shows the cage's own network devices`, async () => {
    const env = await DriverEnv.create(who);
    try {
      const r = await env.run(NET, ["sh", "-c", "ls /sys/class/net; cat /sys/class/net/wg0/mtu"]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout.trim().split("\n"), ["lo", "wg0", "1380"]);
    } finally {
      await env.close();
    }
  });

  Deno.test(`cage (${who}): with mapRoot the command runs as uid and gid 0`, async () => {
    const env = await DriverEnv.create(who);
    try {
      const r = await env.run({ ...NET, mapRoot: true }, ["sh", "-c", "id -u; id -g"]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout.trim().split("\n"), ["0", "0"]);
    } finally {
      await env.close();
    }
  });

  Deno.test(`cage (${who}): packets the command sends to a routed address come out of the TUN fd`, async () => {
    const env = await DriverEnv.create(who);
    const capture = `${env.dir}/capture.hex`;
    try {
      await Deno.writeTextFile(capture, "");
      if (who === "nobody") await Deno.chown(capture, 65534, 65534);
      const send = "printf cage-out-4 | socat -u - UDP4-SENDTO:10.8.0.9:9999; " +
        "printf cage-out-6 | socat -u - UDP6-SENDTO:[fd08::9]:9999; sleep 0.3";
      const r = await env.run({ ...NET, capture }, ["sh", "-c", send]);
      assertEquals(r.code, 0, r.stderr);
      const udp = (await Deno.readTextFile(capture)).trim().split("\n").filter((l) => l !== "")
        .map((hex) => parseUdp(Uint8Array.fromHex(hex))).filter((u) => u !== undefined);
      const seen = udp.map((u) => `${u.dst}:${u.dstPort}:${new TextDecoder().decode(u.payload)}`);
      assert(seen.includes("10.8.0.9:9999:cage-out-4"), `captured: ${seen.join(", ")}`);
      assert(seen.includes("fd08:0:0:0:0:0:0:9:9999:cage-out-6"), `captured: ${seen.join(", ")}`);
    } finally {
      await env.close();
    }
  });

  Deno.test(`cage (${who}): a packet written to the TUN fd reaches a socket in the cage`, async () => {
    const env = await DriverEnv.create(who);
    try {
      const packet = udp4Packet(
        "10.8.0.9",
        "10.7.0.2",
        4444,
        5555,
        new TextEncoder().encode("cage-in"),
      );
      const listen = "timeout 10 socat -u UDP4-RECVFROM:5555,bind=10.7.0.2 STDOUT";
      const r = await env.run({ ...NET, inject: packet.toHex() }, ["sh", "-c", listen]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout, "cage-in");
    } finally {
      await env.close();
    }
  });
}
