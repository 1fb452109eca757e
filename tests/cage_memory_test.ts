/**
 * The cage's init lets go of wgcage's memory right after the clone
 * (launcher/release.c): it does not keep a copy-on-write share of the JS heap
 * or of the WireGuard core's memory for the whole run, so wgcage's writes stay
 * cheap and the pages are not held twice.
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

Deno.test("cage: the init holds none of wgcage's 32 MiB of written memory", async () => {
  requireRoot();
  // Written (resident) before the clone, as the JS heap and the core's memory are.
  const ballast = new Uint8Array(32 << 20).fill(1);
  const cage = await Cage.open({
    argv: ["sleep", "5"],
    tunName: "wg0",
    mapRoot: false,
    etcFiles: { resolvConf: "", hosts: "127.0.0.1 localhost\n", nsswitchConf: "hosts: files\n" },
  });
  try {
    await cage.start();
    const ours = rssAnonKiB("self");
    const init = rssAnonKiB(cage.pid);
    assert(ours > 32 * 1024, `this process has ${ours} KiB anonymous resident`);
    assert(
      init < 16 * 1024,
      `the init still holds ${init} KiB of anonymous memory (ours: ${ours})`,
    );
    ballast.fill(2); // still ours to write
  } finally {
    cage.kill();
    await cage.close();
  }
});
