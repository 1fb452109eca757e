/**
 * Packet capture on an interface in a test namespace with `tcpdump -w`,
 * read back with our own pcap reader. The end-to-end tests use it to prove
 * what crossed a veth (for example: only WireGuard UDP, no DNS leak).
 *
 * @module
 */

import type { Lab, Namespace } from "./netns.ts";
import { parsePcap, type PcapPacket } from "./pcap.ts";
import type { NsProcess } from "./process.ts";
import { waitUntil } from "./process.ts";

/** A running capture; `stop()` ends it and returns the packets. */
export class Capture {
  /** The pcap file being written. */
  readonly file: string;
  readonly #process: NsProcess;
  readonly #lab: Lab;
  #packets: PcapPacket[] | undefined;

  private constructor(lab: Lab, process: NsProcess, file: string) {
    this.#lab = lab;
    this.#process = process;
    this.file = file;
  }

  /**
   * Starts `tcpdump -i <ifname> -w <file>` in `ns` (`undefined`: the test's
   * own namespace, e.g. the host end of a link) with an optional capture
   * filter such as `"not arp"`, and waits until it is listening.
   */
  static async start(
    lab: Lab,
    ns: Namespace | undefined,
    ifname: string,
    filter?: string,
  ): Promise<Capture> {
    const dir = await lab.tempDir();
    const where = ns?.name ?? "the test's namespace";
    const file = `${dir}/${ns?.role ?? "host"}-${ifname}-${crypto.randomUUID().slice(0, 8)}.pcap`;
    // --immediate-mode: without it libpcap hands packets over a ring block at a
    // time (full, or after 1 s), and a capture stopped sooner loses the block:
    // a 10 MiB transfer in 64 KiB GSO datagrams fills none.
    const argv = [
      "tcpdump",
      "--immediate-mode",
      "-i",
      ifname,
      "-n",
      "-U",
      "-Z",
      "root",
      "-s",
      "256",
      "-w",
      file,
    ];
    if (filter !== undefined) argv.push(filter);
    const process = lab.spawn(argv, { ns });
    await waitUntil(
      () => {
        if (process.exited) {
          throw new Error(`tcpdump on ${ifname} in ${where} exited: ${process.stderr.trim()}`);
        }
        return process.stderr.includes("listening on");
      },
      `tcpdump on ${ifname} in ${where} to start listening`,
      10_000,
    );
    const capture = new Capture(lab, process, file);
    return capture;
  }

  /** Stops tcpdump (it flushes the file on SIGINT) and returns every packet it saw. */
  async stop(): Promise<PcapPacket[]> {
    if (this.#packets !== undefined) return this.#packets;
    await this.#process.stop("SIGINT", 3_000);
    this.#lab.untrack(this.#process);
    this.#packets = parsePcap(await Deno.readFile(this.file));
    return this.#packets;
  }
}
