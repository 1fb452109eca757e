/**
 * Twenty cages started at once, in one process (as root, in-process) and as
 * twenty unprivileged drivers: all come up with their own network, run, and
 * go away leaving no process, fd or temp directory behind.
 */

import { parseCidr } from "../src/config/cidr.ts";
import { configureLinks } from "../src/netlink/configure.ts";
import { Cage } from "../src/cage/mod.ts";
import { isNonBlocking } from "./cage/raw_fd.ts";
import { assertEquals } from "./cage/assert.ts";
import { DriverEnv, processesWith, requireRoot } from "./cage/harness.ts";

const COUNT = 20;
const ETC = {
  resolvConf: "nameserver 10.7.0.53\n",
  hosts: "127.0.0.1 localhost\n",
  nsswitchConf: "hosts: files dns\n",
};

/** What each of this process's fds refers to (`/dev/net/tun`, `socket:[inode]`, …). */
async function fdTargets(): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir("/proc/self/fd")) {
    try {
      out.push(await Deno.readLink(`/proc/self/fd/${e.name}`));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

Deno.test(`cage: ${COUNT} cages opened at once in one process all run and go away`, async () => {
  requireRoot();
  const tag = `1000.${Math.floor(Math.random() * 1e9)}`;
  const tunFdsBefore = (await fdTargets()).filter((t) => t === "/dev/net/tun").length;
  const opened = await Promise.allSettled(
    Array.from({ length: COUNT }, (_, i) =>
      Cage.open({
        argv: [
          "sh",
          "-c",
          `ip -o -4 addr show dev wg0 | grep -q ' 10.7.${i}.2/24 ' && sleep ${tag} & wait`,
        ],
        tunName: "wg0",
        mapRoot: false,
        etcFiles: ETC,
      })),
  );
  const netlinkSockets: string[] = [];
  const cages = opened.flatMap((o) => o.status === "fulfilled" ? [o.value] : []);
  try {
    assertEquals(cages.length, COUNT, String(opened.find((o) => o.status === "rejected")));
    assertEquals(new Set(cages.map((c) => c.pid)).size, COUNT);
    assertEquals(cages.map((c) => isNonBlocking(c.tunFd)), Array(COUNT).fill(true));
    netlinkSockets.push(
      ...await Promise.all(cages.map((c) => Deno.readLink(`/proc/self/fd/${c.netlinkFd}`))),
    );
    cages.forEach((cage, i) =>
      configureLinks(cage.netlink(), {
        tunName: "wg0",
        mtu: 1420,
        addresses: [parseCidr(`10.7.${i}.2/24`)],
        routes: [],
      })
    );
    await Promise.all(cages.map((c) => c.start()));
    // Every cage saw its own address: each runs its sleep.
    const end = Date.now() + 30_000;
    while ((await processesWith(tag)).length < COUNT && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assertEquals((await processesWith(tag)).length, COUNT);
    for (const c of cages) c.signal("SIGTERM");
    const statuses = await Promise.all(cages.map((c) => c.wait()));
    assertEquals(statuses, Array(COUNT).fill(143));
  } finally {
    await Promise.all(cages.map((c) => c.close()));
  }
  assertEquals(await processesWith(tag), []);
  const after = await fdTargets();
  assertEquals(after.filter((t) => t === "/dev/net/tun").length, tunFdsBefore, "TUN fds closed");
  assertEquals(netlinkSockets.length, COUNT);
  assertEquals(after.filter((t) => netlinkSockets.includes(t)), [], "netlink sockets closed");
  // The /etc files lived only in each cage's own tmpfs: nothing in the temp dir.
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  const left = [...Deno.readDirSync(tmp)].filter((e) => e.name.startsWith("wgcage-etc-"));
  assertEquals(left.map((e) => e.name), [], "no /etc files left in the temp dir");
});

Deno.test(`cage: ${COUNT} unprivileged wgcage processes at once all come up and go away`, async () => {
  const env = await DriverEnv.create("nobody");
  const tag = `1000.${Math.floor(Math.random() * 1e9)}`;
  try {
    const runs = await Promise.all(
      Array.from({ length: COUNT }, (_, i) =>
        env.run(
          { addresses: [`10.9.${i}.2/24`] },
          [
            "sh",
            "-c",
            `ip -o -4 addr show dev wg0 | grep -q ' 10.9.${i}.2/24 ' || exit 9; sleep ${tag} & sleep 0.3`,
          ],
        )),
    );
    assertEquals(runs.map((r) => r.code), Array(COUNT).fill(0), runs.map((r) => r.stderr).join(""));
    assertEquals(await processesWith(tag), []);
  } finally {
    await env.close();
  }
});

Deno.test("cage: the cage's init holds no fd of wgcage's, not even another cage's TUN", async () => {
  requireRoot();
  // Each child closes every inherited fd but stdio; otherwise B's init would
  // keep A's TUN device and netlink socket (and Deno's own fds) alive.
  const a = await Cage.open({ argv: ["true"], tunName: "wg0", mapRoot: false, etcFiles: ETC });
  const b = await Cage.open({
    argv: ["sleep", "10"],
    tunName: "wg0",
    mapRoot: false,
    etcFiles: ETC,
  });
  try {
    await b.start();
    const fds: string[] = [];
    for await (const e of Deno.readDir(`/proc/${b.pid}/fd`)) fds.push(e.name);
    assertEquals(fds.map(Number).sort((x, y) => x - y), [0, 1, 2]);
    await a.start();
    assertEquals(await a.wait(), 0);
  } finally {
    await a.close();
    await b.close();
  }
});
