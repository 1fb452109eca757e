/**
 * Names for what the harness creates. Every name carries the pid of the test
 * process that made it, so a later run can tell its own leftovers from
 * another live run's and remove only those whose process is dead.
 *
 * - namespaces: `wgc-<pid>-<n>-<role>` (any length)
 * - interfaces in the test's own namespace and WireGuard interfaces:
 *   `wgc<pid><kind><n>` with n in base 36; at most 15 characters. WireGuard
 *   interface names must be unique on the whole machine, not only in their
 *   namespace: wireguard-go's control socket is `/var/run/wireguard/<name>.sock`.
 *
 * - temporary directories: `wgc-lab-<pid>-…` and `wgc-keys-<pid>-…`
 *
 * Tests may run as several workers in one process (same pid), so the
 * counter starts at a random value and creation retries on a clash.
 *
 * @module
 */

/** The largest length of a Linux interface name. */
export const IFNAMSIZ_MAX = 15;

let counter = Math.floor(Math.random() * 36 ** 3);

/** The next number for a name; unique within this worker. */
export function nextSerial(): number {
  counter = (counter + 1) % 36 ** 4;
  return counter;
}

/** A namespace name for `role` (letters and digits only). */
export function namespaceName(role: string, serial = nextSerial()): string {
  if (!/^[a-z0-9]{1,16}$/.test(role)) {
    throw new RangeError(`Cannot name a namespace for role "${role}": use 1–16 of a-z, 0-9`);
  }
  return `wgc-${Deno.pid}-${serial.toString(36)}-${role}`;
}

/** Which kind of interface a short name is for. */
export type InterfaceKind = "h" | "w";

/** An interface name `wgc<pid><kind><n>`: `h` host-side veth, `w` WireGuard. */
export function interfaceName(kind: InterfaceKind, serial = nextSerial()): string {
  const name = `wgc${Deno.pid}${kind}${serial.toString(36)}`;
  if (name.length > IFNAMSIZ_MAX) {
    throw new RangeError(`Cannot name an interface: "${name}" is longer than 15 characters`);
  }
  return name;
}

/**
 * A live cage's name `<prefix><pid><n>`: unique on the machine while this
 * process runs, across workers that share its pid. A cage's name is also its
 * WireGuard device's (`/var/run/wireguard/<name>.sock`), so at most 15
 * characters.
 */
export function cageName(prefix: string, serial = nextSerial()): string {
  const name = `${prefix}${Deno.pid}x${serial.toString(36)}`;
  if (!/^[a-z]{1,3}$/.test(prefix) || name.length > IFNAMSIZ_MAX) {
    throw new RangeError(`Cannot name a cage with prefix "${prefix}": "${name}"`);
  }
  return name;
}

/** The pid a harness namespace name carries, or undefined when it is not ours. */
export function pidOfNamespace(name: string): number | undefined {
  const m = /^wgc-(\d+)-[0-9a-z]+-[a-z0-9]+$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** The pid a harness interface name carries, or undefined when it is not ours. */
export function pidOfInterface(name: string): number | undefined {
  const m = /^wgc(\d+)[hw][0-9a-z]+$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** A prefix for temporary directories: `wgc-<kind>-<pid>-`. */
export function tempDirPrefix(kind: "lab" | "keys"): string {
  return `wgc-${kind}-${Deno.pid}-`;
}

/** The pid a harness temporary directory's name carries, or undefined when it is not ours. */
export function pidOfTempDir(name: string): number | undefined {
  const m = /^wgc-(?:lab|keys)-(\d+)-[A-Za-z0-9_]+$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
