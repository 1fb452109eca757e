/**
 * No key where the cage can reach it: the cage's init (PID 1 of the cage)
 * holds no copy of the private key, the PSK or the config text, and wgcage
 * itself is not dumpable (no core file, no /proc/PID/mem for its own user).
 *
 * Runs the real CLI against a wireguard-go peer with --root (the mode in which
 * the command could read /proc/1/mem), rootless, and scans the init's memory
 * from the host as root.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { generateKeyPair, generatePresharedKey } from "./harness/keys.ts";
import { WgPeer } from "./harness/wg_peer.ts";
import { NOBODY, runWgcage, wgQuick, writeConfig } from "./e2e/wgcage.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** The pids of `pid`'s children, over all its threads. */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    const text = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`).trim();
    if (text !== "") found.push(...text.split(/\s+/).map(Number));
  }
  return found;
}

/** Every readable byte of a process's memory, one buffer per mapping. */
function memoryOf(pid: number): Uint8Array[] {
  const maps = Deno.readTextFileSync(`/proc/${pid}/maps`).trim().split("\n");
  const mem = Deno.openSync(`/proc/${pid}/mem`, { read: true });
  const chunks: Uint8Array[] = [];
  try {
    for (const line of maps) {
      const [range, perms, , , , path] = line.split(/\s+/);
      if (!perms.startsWith("r") || path === "[vvar]" || path === "[vsyscall]") continue;
      const [start, end] = range.split("-").map((h) => BigInt(`0x${h}`));
      const buf = new Uint8Array(Number(end - start));
      try {
        mem.seekSync(start, Deno.SeekMode.Start);
        let done = 0;
        while (done < buf.length) {
          const n = mem.readSync(buf.subarray(done));
          if (n === null || n === 0) break;
          done += n;
        }
        chunks.push(buf.subarray(0, done));
      } catch {
        // a mapping the kernel will not read (e.g. a guard page)
      }
    }
  } finally {
    mem.close();
  }
  return chunks;
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = haystack.indexOf(needle[0]); i >= 0; i = haystack.indexOf(needle[0], i + 1)) {
    if (i + needle.length > haystack.length) return false;
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

Deno.test("the cage's init holds no key, PSK or config text, and wgcage is not dumpable", async () => {
  requireRoot("The key memory test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("mem");
    const keys = await generateKeyPair();
    const psk = await generatePresharedKey();
    const peer = await WgPeer.start(lab, ns, {
      listenPort: 51820,
      addresses: ["10.99.0.1/24"],
      peers: [{ publicKey: keys.publicKey, presharedKey: psk, allowedIps: ["10.99.0.2/32"] }],
    });
    const config = await writeConfig(
      lab,
      wgQuick({ privateKey: keys.privateKey, addresses: ["10.99.0.2/24"] }, [{
        publicKey: peer.keys.publicKey,
        presharedKey: psk,
        allowedIps: ["10.99.0.0/24"],
        endpoint: "127.0.0.1:51820",
      }]),
      NOBODY,
    );
    const flags = await Deno.makeTempDir({ prefix: "wgc-mem-" });
    lab.defer(() => Deno.remove(flags, { recursive: true }));
    await Deno.chmod(flags, 0o777);
    const ready = `${flags}/ready`;
    const release = `${flags}/release`;
    const script = `touch ${ready}; while [ ! -e ${release} ]; do sleep 0.05; done`;
    const running = runWgcage(lab, {
      ns,
      rootless: true,
      args: ["--root", "--config", config, "--", "sh", "-c", script],
    });
    try {
      const end = Date.now() + 30_000;
      while (!(await Deno.stat(ready).then(() => true, () => false))) {
        assert(Date.now() < end, "the command never started");
        await new Promise((r) => setTimeout(r, 50));
      }
      // wgcage: the deno process of the rootless run whose child is the init.
      const wgcage = [...Deno.readDirSync("/proc")]
        .filter((e) => /^\d+$/.test(e.name))
        .map((e) => Number(e.name))
        .find((pid) => {
          try {
            const cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
            return cmd.includes(config) && cmd.some((a) => a.endsWith("/src/main.ts"));
          } catch {
            return false;
          }
        });
      assert(wgcage !== undefined, "wgcage's process not found");
      const status = Deno.readTextFileSync(`/proc/${wgcage}/status`);
      assert(new RegExp(`^Uid:\\s+${NOBODY}\\b`, "m").test(status), "wgcage runs rootless");
      // A non-dumpable process's /proc files belong to root, not to its user.
      assert(Deno.statSync(`/proc/${wgcage}/mem`).uid === 0, "wgcage is not dumpable");

      const inits = childrenOf(wgcage);
      assert(inits.length === 1, `wgcage has one child, the cage's init: ${inits}`);
      const memory = memoryOf(inits[0]);
      assert(memory.reduce((n, c) => n + c.length, 0) > 0, "the init's memory was read");
      const enc = new TextEncoder();
      const secrets: [string, Uint8Array][] = [
        ["the private key (base64)", enc.encode(keys.privateKey)],
        ["the private key (raw)", Uint8Array.fromBase64(keys.privateKey)],
        ["the PSK (base64)", enc.encode(psk)],
        ["the PSK (raw)", Uint8Array.fromBase64(psk)],
        ["the config text", enc.encode("PrivateKey = ")],
      ];
      for (const [what, needle] of secrets) {
        assert(!memory.some((chunk) => contains(chunk, needle)), `the init holds ${what}`);
      }
    } finally {
      await Deno.writeTextFile(release, "");
    }
    const r = await running;
    assert(r.code === 0, `wgcage exited ${r.code}: ${r.stderr}`);
  } finally {
    await lab.close();
  }
});
