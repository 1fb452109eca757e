/**
 * Random UDP packet loss on one interface of a test namespace, with
 * nftables: a table `wgcloss_<ifname>` whose input and output chains drop
 * `percent` % of UDP packets on that interface (both IP families).
 *
 * @module
 */

import type { Lab, Namespace } from "./netns.ts";

/** Loss that is in effect until `remove()` (or the lab's close). */
export class PacketLoss {
  /** The nftables table holding the rules. */
  readonly table: string;
  readonly ns: Namespace;
  #removed = false;

  private constructor(ns: Namespace, table: string) {
    this.ns = ns;
    this.table = table;
  }

  /** Drops `percent` % (default 5) of UDP packets in and out of `ifname` in `ns`. */
  static async add(lab: Lab, ns: Namespace, ifname: string, percent = 5): Promise<PacketLoss> {
    if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
      throw new RangeError(`Cannot add packet loss of ${percent} %: use an integer 0–100`);
    }
    if (!/^[A-Za-z0-9_]+$/.test(ifname)) {
      throw new RangeError(`Cannot add packet loss on "${ifname}": unusual interface name`);
    }
    const table = `wgcloss_${ifname}`;
    const rule = (dir: "iifname" | "oifname") =>
      `${dir} "${ifname}" meta l4proto udp numgen random mod 100 < ${percent} counter drop`;
    const script = [
      `table inet ${table} {`,
      `  chain input { type filter hook input priority -10; policy accept; ${rule("iifname")}; }`,
      `  chain output { type filter hook output priority -10; policy accept; ${rule("oifname")}; }`,
      `}`,
      "",
    ].join("\n");
    await ns.run(["nft", "-f", "-"], { stdin: script });
    const loss = new PacketLoss(ns, table);
    lab.defer(() => loss.remove());
    return loss;
  }

  /** Removes the rules. Safe to call twice. */
  async remove(): Promise<void> {
    if (this.#removed) return;
    this.#removed = true;
    await this.ns.run(["nft", "delete", "table", "inet", this.table]);
  }

  /** How many packets the rules have dropped so far (input plus output). */
  async dropped(): Promise<number> {
    const { stdout } = await this.ns.run(["nft", "list", "table", "inet", this.table]);
    let total = 0;
    for (const m of stdout.matchAll(/counter packets (\d+)/g)) total += Number(m[1]);
    return total;
  }
}
