/**
 * The cage's init lets go of wgcage's memory right after the clone
 * (launcher/release.c): it does not keep a copy-on-write share of the JS heap
 * and Deno's allocations for the whole run, so wgcage's writes stay cheap and
 * the pages are not held twice. (WebAssembly memories are not inherited by a
 * fork at all, so the ballast is a plain ArrayBuffer.)
 */

import { Cage } from "../src/cage/mod.ts";
import { assert } from "./cage/assert.ts";
import { requireRoot } from "./cage/harness.ts";

function rssAnonKiB(pid: number | "self"): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kib = /^RssAnon:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no RssAnon in /proc/${pid}/status`);
  return Number(kib);
}

/** The mappings of `pid` that overlap [start, end). */
function mappingsOver(pid: number, start: bigint, end: bigint): string[] {
  return Deno.readTextFileSync(`/proc/${pid}/maps`).split("\n").filter((line) => {
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    return m !== null && BigInt(`0x${m[1]}`) < end && BigInt(`0x${m[2]}`) > start;
  });
}

Deno.test("cage: the init does not map wgcage's memory written before the clone", async () => {
  requireRoot();
  // 64 MiB written (resident) before the clone, as the JS heap is.
  const ballast = new Uint8Array(64 << 20).fill(1);
  const start = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(ballast)));
  const end = start + BigInt(ballast.length);
  const cage = await Cage.open({
    argv: ["sleep", "5"],
    tunName: "wg0",
    mapRoot: false,
    etcFiles: { resolvConf: "", hosts: "127.0.0.1 localhost\n", nsswitchConf: "hosts: files\n" },
  });
  try {
    await cage.start();
    assert(mappingsOver(Deno.pid, start, end).length > 0, "the ballast is not where we think");
    const held = mappingsOver(cage.pid, start, end);
    assert(held.length === 0, `the init still maps the ballast: ${held.join("; ")}`);
    const init = rssAnonKiB(cage.pid);
    assert(init < 64 * 1024, `the init holds ${init} KiB of anonymous memory`);
    ballast.fill(2); // still ours to write
  } finally {
    cage.kill();
    await cage.close();
  }
});
