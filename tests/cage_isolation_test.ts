/**
 * Isolation: from inside the cage, the host's loopback listeners cannot be
 * reached (the same probe reaches them from the host, as a control); the
 * host's /etc is untouched even when the command writes to its /etc; and a
 * symlinked /etc/resolv.conf (Ubuntu's, target present or dangling) is
 * replaced in the cage without touching the link or its target.
 */

import dgram from "node:dgram";
import { assertEquals } from "./cage/assert.ts";
import { DriverEnv, type Who } from "./cage/harness.ts";

const PROBE = `
import socket, sys
port_tcp, port_udp = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(1)
try:
    s.connect(("127.0.0.1", port_tcp))
    print("tcp-connected")
except OSError:
    print("tcp-failed")
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"probe-from-cage", ("127.0.0.1", port_udp))
print("udp-sent")
`;

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return new Uint8Array(digest).toHex();
}

/** Hashes of /etc's top-level entries (content of files, target of links). */
async function hashEtc(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir("/etc")) {
    const path = `/etc/${e.name}`;
    const st = await Deno.lstat(path);
    if (st.isSymlink) out[e.name] = `-> ${await Deno.readLink(path)}`;
    else if (st.isFile) out[e.name] = `${st.mode} ${st.mtime?.getTime()} ${await sha256(path)}`;
    else out[e.name] = `dir ${st.mode}`;
  }
  return out;
}

for (const who of ["nobody", "root"] as Who[]) {
  Deno.test(`cage (${who}): the host's loopback listeners are unreachable from the cage`, async () => {
    const env = await DriverEnv.create(who);
    const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const udp = dgram.createSocket("udp4");
    const received: string[] = [];
    udp.on("message", (m) => received.push(new TextDecoder().decode(m)));
    await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", () => resolve()));
    const accepted: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const c of tcp) accepted.push(c);
    })();
    try {
      const ports = [String(tcp.addr.port), String(udp.address().port)];
      const probe = ["/usr/bin/python3", "-c", PROBE, ...ports];

      // Control: from the host, the probe does reach both listeners.
      const control = await new Deno.Command(probe[0], { args: probe.slice(1), stdout: "piped" })
        .output();
      assertEquals(new TextDecoder().decode(control.stdout).trim().split("\n"), [
        "tcp-connected",
        "udp-sent",
      ]);
      const end = Date.now() + 10_000;
      while (received.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      assertEquals(received, ["probe-from-cage"]);
      assertEquals(accepted.length, 1);

      const r = await env.run({ addresses: ["10.7.0.2/24"], routes: ["0.0.0.0/0"] }, probe);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout.trim().split("\n"), ["tcp-failed", "udp-sent"]);
      await new Promise((r) => setTimeout(r, 300));
      assertEquals(received, ["probe-from-cage"], "nothing more reached the host's UDP listener");
      assertEquals(accepted.length, 1, "nothing more reached the host's TCP listener");
    } finally {
      for (const c of accepted) c.close();
      tcp.close();
      await accepting.catch(() => {});
      udp.close();
      await env.close();
    }
  });

  Deno.test(`cage (${who}): the host's /etc is untouched when the command writes its /etc`, async () => {
    const env = await DriverEnv.create(who);
    try {
      const before = await hashEtc();
      const write =
        "for f in resolv.conf hosts nsswitch.conf; do echo '# cage' >> /etc/$f; done; " +
        "tail -n1 /etc/resolv.conf /etc/hosts /etc/nsswitch.conf | grep -c '# cage'";
      const r = await env.run({ mapRoot: true, dns: ["10.7.0.53"] }, ["sh", "-c", write]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout.trim(), "3", "the cage's own copies took the writes");
      assertEquals(await hashEtc(), before);
    } finally {
      await env.close();
    }
  });

  for (const dangling of [false, true]) {
    const kind = dangling ? "a dangling symlink" : "a symlink to an existing file";
    Deno.test(`cage (${who}): /etc/resolv.conf as ${kind} is replaced in the cage`, async () => {
      const env = await DriverEnv.create(who);
      try {
        // In the driver's private mount namespace, /etc becomes an overlay
        // whose resolv.conf is a symlink, as on Ubuntu.
        await Deno.mkdir(`${env.dir}/stub`);
        await Deno.writeTextFile(`${env.dir}/stub/resolv.conf`, "nameserver 127.0.0.53\n");
        const target = dangling
          ? "../run/systemd/resolve/stub-resolv.conf"
          : `${env.dir}/stub/resolv.conf`;
        if (dangling) {
          const exists = await Deno.stat("/run/systemd/resolve/stub-resolv.conf").then(
            () => true,
            () => false,
          );
          if (exists) {
            throw new Error("This test needs /run/systemd/resolve/stub-resolv.conf absent");
          }
        }
        const prelude = 'mkdir "$0/up" "$0/work" && ' +
          'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$0/up,workdir=$0/work" /etc && ' +
          `ln -sfn '${target}' /etc/resolv.conf`;
        const show = "readlink /etc/resolv.conf || true; cat /etc/resolv.conf";
        const r = await env.run({ dns: ["10.7.0.53"] }, ["sh", "-c", show], { prelude });
        assertEquals(r.code, 0, r.stderr);
        // A symlink whose target exists keeps pointing there (the target is
        // covered); a dangling one is covered itself and reads as a file.
        const expected = dangling ? [] : [target];
        const lines = r.stdout.trim().split("\n")
          .filter((l) => !l.startsWith("#") && !l.startsWith("options"));
        assertEquals(lines, [...expected, "nameserver 10.7.0.53"]);
        assertEquals(
          await Deno.readTextFile(`${env.dir}/stub/resolv.conf`),
          "nameserver 127.0.0.53\n",
          "the symlink's target is untouched",
        );
      } finally {
        await env.close();
      }
    });
  }
}
