/**
 * Test driver: runs one cage the way wgcage will, configured from a JSON spec,
 * and exits with the cage's status. Tests run it as a subprocess (as root, or
 * dropped to an unprivileged uid) and look at its output and exit status.
 *
 *     deno run -A tests/cage/driver.ts '<json DriverSpec>' cmd args…
 *
 * It prints `driver: pid=<init pid>` on stderr once the command runs, and
 * refusals as their one-line message with the refusal's exit status.
 *
 * @module
 */

import { parseCidr } from "../../src/config/cidr.ts";
import { configureLinks } from "../../src/netlink/configure.ts";
import { hostsFile, nsswitchConf, resolvConf } from "../../src/dns/mod.ts";
import { Cage, CageError, forwardSignals } from "../../src/cage/mod.ts";
import { LauncherError } from "../../src/launcher/error.ts";
import { readFd, waitReadable, writeFd } from "./raw_fd.ts";

/** What the driver sets up. */
export interface DriverSpec {
  tunName?: string;
  mapRoot?: boolean;
  /** As root: no user namespace for the cage (no boundary). */
  noUserns?: boolean;
  /** Host paths covered in the cage. */
  hidePaths?: string[];
  mtu?: number;
  addresses?: string[];
  routes?: string[];
  dns?: string[];
  hostname?: string;
  /** Append every packet read from the TUN, as a hex line, to this file. */
  capture?: string;
  /** Write this packet (hex) to the TUN every 100 ms while the command runs. */
  inject?: string;
  /** Start the cage's socket service (launcher/forward_service.h). */
  socketService?: boolean;
}

async function pumpTun(cage: Cage, spec: DriverSpec, done: Promise<unknown>): Promise<void> {
  let finished = false;
  done.then(() => finished = true);
  const buf = new Uint8Array(65536);
  const packet = spec.inject ? Uint8Array.fromHex(spec.inject) : undefined;
  const file = spec.capture ? await Deno.open(spec.capture, { append: true, create: true }) : null;
  try {
    while (!finished) {
      if (packet) writeFd(cage.tunFd, packet);
      await waitReadable(cage.tunFd, 100);
      for (;;) {
        const n = readFd(cage.tunFd, buf);
        if (n <= 0) break; // EAGAIN: drained
        if (file) await file.write(new TextEncoder().encode(buf.subarray(0, n).toHex() + "\n"));
      }
    }
  } finally {
    file?.close();
  }
}

async function main(args: string[]): Promise<number> {
  const spec: DriverSpec = JSON.parse(args[0]);
  const argv = args.slice(1);
  const tunName = spec.tunName ?? "wg0";
  let cage: Cage;
  try {
    cage = await Cage.open({
      argv,
      tunName,
      mapRoot: spec.mapRoot ?? false,
      noUserns: spec.noUserns,
      hidePaths: spec.hidePaths,
      hostname: spec.hostname,
      socketService: spec.socketService,
      etcFiles: {
        resolvConf: resolvConf({ servers: spec.dns ?? [], search: [] }).text,
        hosts: hostsFile(spec.hostname ?? "wgcage"),
        nsswitchConf: nsswitchConf(),
      },
    });
  } catch (e) {
    if (e instanceof CageError || e instanceof LauncherError) {
      console.error(e.message);
      return e.exitCode;
    }
    throw e;
  }
  const stopForwarding = forwardSignals(cage);
  try {
    configureLinks(cage.netlink(), {
      tunName,
      mtu: spec.mtu ?? 1420,
      addresses: (spec.addresses ?? []).map(parseCidr),
      routes: (spec.routes ?? []).map(parseCidr),
    });
    try {
      await cage.start();
    } catch (e) {
      if (!(e instanceof CageError)) throw e;
      console.error(e.message);
      const status = await cage.wait();
      if (status !== e.exitCode) console.error(`driver: status ${status} != ${e.exitCode}`);
      return e.exitCode;
    }
    console.error(`driver: pid=${cage.pid}`);
    const status = cage.wait();
    if (spec.capture || spec.inject) await pumpTun(cage, spec, status);
    return await status;
  } finally {
    stopForwarding();
    await cage.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
