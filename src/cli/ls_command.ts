/**
 * `wgcage ls [--json]`: the live cages of this user (stale ones are removed
 * on the way).
 *
 * @module
 */

import { liveRecords, stateDir } from "../live/state.ts";

export function lsCommand(json: boolean): number {
  const live = liveRecords();
  if (json) {
    const out = live.map((r) => ({
      name: r.name,
      pid: r.pid,
      initPid: r.initPid,
      tunName: r.tunName,
      mode: r.mode,
      addresses: r.addresses,
      publicKey: r.publicKey,
      listenPort: r.listenPort,
      rmWhenIdle: r.rmWhenIdle,
      since: new Date(r.since).toISOString(),
    }));
    console.log(JSON.stringify(out, null, 2));
    return 0;
  }
  // Where they are kept: it depends on $XDG_RUNTIME_DIR, which su, cron and
  // `sudo -u` leave unset (/tmp/wgcage-UID then); a cage started with it set
  // is not seen without it.
  if (live.length === 0) {
    console.log(
      `no live cages (kept in ${stateDir()}); start one with 'wgcage up NAME --config FILE'`,
    );
    return 0;
  }
  const rows = [["NAME", "PID", "TUNNEL", "ADDRESSES", "PORT", "SINCE"]];
  for (const r of live) {
    rows.push([
      r.name,
      String(r.pid),
      r.tunName,
      r.addresses.join(","),
      String(r.listenPort),
      new Date(r.since).toISOString().replace(/\.\d+Z$/, "Z"),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd());
  console.log(`(kept in ${stateDir()})`);
  return 0;
}
