/**
 * Which host paths the cage covers: unix sockets and the files wgcage read
 * keys from with /dev/null, daemons' directories with an empty tmpfs.
 *
 * The cage shares the host's file system, and a unix socket file is a way
 * out of the cage that no network namespace closes: whatever answers on it
 * works for the command, outside the tunnel. glibc asks nscd before it reads
 * nsswitch.conf, so with nscd on the host every lookup in the cage would be
 * made by the host's resolver, in clear text; systemd-resolved and avahi
 * answer lookups on their own sockets and over the system D-Bus.
 *
 * - By default the cage covers the name services' directories (/run/nscd,
 *   /run/systemd/resolve, /run/avahi-daemon) and the system D-Bus's
 *   (/run/dbus) with an empty read-only tmpfs, so that no lookup leaves
 *   outside the tunnel, even through a socket a daemon re-creates there
 *   after a restart. (/etc/resolv.conf may be a symlink into
 *   /run/systemd/resolve: the cage's own is laid over the symlink itself.)
 * - `--hide-sockets` covers every other socket file under /run, /var/run,
 *   /tmp and $XDG_RUNTIME_DIR too (the user bus, docker.sock, agents, X11).
 * - Live cages' state is covered in every cage: the state directory
 *   (`stateDirs`, from src/live/state_cover.ts) and the stock `wg`'s socket
 *   directory, /var/run/wireguard, where the root keeper links NAME.sock.
 *   A control socket serves WireGuard's userspace API to whoever reaches
 *   it as its user, so a caged command that could reach one could read and
 *   rewrite that cage's peers; the state directory is covered whole, so a
 *   cage that comes up later is out of reach too.
 * - The files wgcage read a key or a PSK from (`secretFiles`, resolved by
 *   src/config/secret_files.ts) are covered with an empty file, so the
 *   command cannot read the key back from where wgcage found it.
 * - `--keep-socket PATH` leaves PATH reachable, except a name service's or
 *   a live cage's.
 *
 * Abstract unix sockets (names in no file system, e.g. `@/tmp/.X11-unix/X0`)
 * need no cover: they belong to a network namespace, and the cage has its
 * own, so the host's are already out of its reach.
 *
 * Paths are resolved (/var/run → /run) and given once each; the launcher
 * covers them before it lays the /etc files (launcher/cage.c, hide_paths).
 * The list is taken as the cage is made: a socket that a daemon creates
 * later outside a covered directory is not covered.
 *
 * @module
 */

import { CageError, EXIT_REFUSED } from "./error.ts";

/** What to hide besides the name services. */
export interface HostSocketPolicy {
  /** `--hide-sockets`: every socket file under the walked directories. */
  readonly hideAll: boolean;
  /** `--keep-socket` paths, as given. */
  readonly keep: readonly string[];
  /** $XDG_RUNTIME_DIR, walked with `hideAll` when it is an absolute path. */
  readonly runtimeDir?: string;
  /** Live cages' state directories (made beforehand, so they exist to be covered). */
  readonly stateDirs?: readonly string[];
  /** Files holding keys that wgcage read, resolved (covered with an empty file). */
  readonly secretFiles?: readonly string[];
}

/** The sockets to cover, and how the search for them went. */
export interface HostSockets {
  /** Absolute, resolved paths, each once. */
  readonly paths: string[];
  /** Directory entries looked at by the `--hide-sockets` walk. */
  readonly entries: number;
  /** Directories the walk did not enter: deeper than {@linkcode WALK_MAX_DEPTH}. */
  readonly tooDeep: number;
  /** Directories the walk could not read. */
  readonly unreadable: number;
  /** Where the walk stopped at {@linkcode WALK_MAX_ENTRIES}, if it did. */
  readonly stoppedIn?: string;
}

/** What the search needs from the file system (the host's, or a fake in tests). */
export interface SocketFs {
  /** The path with every symlink resolved; undefined when it cannot be. */
  realPath(path: string): string | undefined;
  /** Whether `path` itself (not a symlink's target) is a socket. */
  isSocket(path: string): boolean;
  /** The entries of a directory; undefined when it cannot be read. */
  readDir(path: string): Iterable<SocketFsEntry> | undefined;
}

/** A directory entry as {@linkcode SocketFs.readDir} gives it (not followed). */
export interface SocketFsEntry {
  readonly name: string;
  readonly isDirectory: boolean;
  readonly isSymlink: boolean;
  readonly isFile: boolean;
}

/**
 * The directories of daemons that answer name lookups: nscd (glibc asks its
 * socket before it reads nsswitch.conf), systemd-resolved (varlink), avahi
 * (nss-mdns).
 */
const NAME_SERVICE_DIRS = [
  "/run/nscd",
  "/var/run/nscd",
  "/run/systemd/resolve",
  "/var/run/systemd/resolve",
  "/run/avahi-daemon",
  "/var/run/avahi-daemon",
];

/**
 * The system D-Bus's directory: systemd-resolved (org.freedesktop.resolve1)
 * and avahi answer lookups over the bus. Hidden by default; `--keep-socket`
 * may give its socket back.
 */
export const SYSTEM_BUS_DIRS: readonly string[] = ["/run/dbus", "/var/run/dbus"];

/**
 * Where the stock `wg` looks for userspace devices' sockets: the root
 * keeper links NAME.sock here, and wireguard-go devices of the host keep
 * their UAPI sockets here. Covered in every cage when it exists.
 */
const WG_SOCKET_DIRS = ["/run/wireguard", "/var/run/wireguard"];

/** Where `--hide-sockets` looks, besides $XDG_RUNTIME_DIR. */
const WALK_ROOTS = ["/run", "/var/run", "/tmp"];

/** How many directory levels below each root `--hide-sockets` enters. */
export const WALK_MAX_DEPTH = 8;

/** How many directory entries `--hide-sockets` looks at, at most, in all. */
export const WALK_MAX_ENTRIES = 20_000;

/** The host's file system. */
export const hostSocketFs: SocketFs = {
  realPath(path) {
    try {
      return Deno.realPathSync(path);
    } catch {
      return undefined;
    }
  },
  isSocket(path) {
    try {
      return Deno.lstatSync(path).isSocket === true;
    } catch {
      return false;
    }
  },
  readDir(path) {
    try {
      // Read it all now, so that an error surfaces here.
      return [...Deno.readDirSync(path)];
    } catch {
      return undefined;
    }
  },
};

/**
 * `fs`, each directory read once: a directory is read to tell that it exists
 * (and can be covered), then again to tell that it covers what lies in it,
 * and /var/run/X resolves to the /run/X read already; each read is a
 * getdents and an object per entry, on the way to the cage's clone.
 */
function readingEachDirOnce(fs: SocketFs): SocketFs {
  const listings = new Map<string, SocketFsEntry[] | undefined>();
  return {
    realPath: (path) => fs.realPath(path),
    isSocket: (path) => fs.isSocket(path),
    readDir(path) {
      if (!listings.has(path)) {
        const listing = fs.readDir(path);
        listings.set(path, listing === undefined ? undefined : [...listing]);
      }
      return listings.get(path);
    },
  };
}

/** The resolved directories among `dirs` that exist. */
function existingDirs(fs: SocketFs, dirs: readonly string[]): Set<string> {
  const found = new Set<string>();
  for (const dir of dirs) {
    const real = fs.realPath(dir);
    if (real !== undefined && fs.readDir(real) !== undefined) found.add(real);
  }
  return found;
}

/** Whether `path` lies inside one of `dirs`. */
function inside(path: string, dirs: Set<string>): boolean {
  for (const dir of dirs) if (path.startsWith(`${dir}/`)) return true;
  return false;
}

/** The sockets directly in `dir` (resolved), e.g. when the directory itself must stay. */
function socketsIn(fs: SocketFs, dir: string, into: Set<string>): void {
  for (const entry of fs.readDir(dir) ?? []) {
    if (!entry.isDirectory) addSocket(fs, `${dir}/${entry.name}`, into);
  }
}

/** Adds the socket `path` leads to, resolved, when it is one. */
function addSocket(fs: SocketFs, path: string, into: Set<string>): void {
  const real = fs.realPath(path);
  if (real !== undefined && fs.isSocket(real)) into.add(real);
}

/**
 * The host sockets the cage covers under `policy`. Throws a
 * {@linkcode CageError} (exit status 125) for a `--keep-socket` path that is
 * not a socket, or is a name service's.
 *
 * @example
 * ```ts
 * import { hostSocketsToHide } from "./host_sockets.ts";
 * const { paths } = hostSocketsToHide({ hideAll: false, keep: [] });
 * // e.g. ["/run/nscd/socket"] where nscd runs
 * ```
 */
export function hostSocketsToHide(policy: HostSocketPolicy, host = hostSocketFs): HostSockets {
  const fs = readingEachDirOnce(host);
  const nameServices = existingDirs(fs, NAME_SERVICE_DIRS);
  const liveState = existingDirs(fs, [...(policy.stateDirs ?? []), ...WG_SOCKET_DIRS]);
  const kept = new Set(
    policy.keep.map((path) => keptSocket(fs, path, nameServices, liveState)),
  );
  const hidden = new Set([...nameServices, ...liveState]);
  // The bus's directory is covered whole, unless a socket in it is kept:
  // then its other sockets are covered one by one.
  for (const dir of existingDirs(fs, SYSTEM_BUS_DIRS)) {
    if ([...kept].some((k) => k.startsWith(`${dir}/`))) {
      socketsIn(fs, dir, hidden);
    } else {
      hidden.add(dir);
    }
  }
  let walk: Omit<HostSockets, "paths"> = { entries: 0, tooDeep: 0, unreadable: 0 };
  if (policy.hideAll) {
    const roots = [...WALK_ROOTS];
    if (policy.runtimeDir?.startsWith("/")) roots.push(policy.runtimeDir);
    walk = walkForSockets(fs, roots, hidden);
  }
  // A socket inside a covered directory needs no cover of its own.
  const covered = new Set([...hidden].filter((p) => fs.readDir(p) !== undefined));
  for (const file of policy.secretFiles ?? []) hidden.add(file);
  const paths = [...hidden].filter((p) => !kept.has(p) && !inside(p, covered));
  return { paths, ...walk };
}

/** The resolved path of a `--keep-socket` socket; throws when it cannot be kept. */
function keptSocket(
  fs: SocketFs,
  path: string,
  nameServiceDirs: Set<string>,
  liveStateDirs: Set<string>,
): string {
  const refuse = (why: string) =>
    new CageError(`wgcage: Cannot keep '${path}' for the cage: ${why}`, EXIT_REFUSED);
  const real = fs.realPath(path);
  if (real === undefined) {
    throw refuse(
      'no such file; name a unix socket of the host, e.g. --keep-socket "$XDG_RUNTIME_DIR/bus"',
    );
  }
  if (!fs.isSocket(real)) throw refuse("it is not a unix socket; name a socket file");
  if (inside(real, nameServiceDirs)) {
    throw refuse(
      "it is a name service's socket, and lookups through it would leave outside the tunnel; " +
        "leave --keep-socket out (the cage resolves names through the tunnel)",
    );
  }
  if (inside(real, liveStateDirs)) {
    throw refuse(
      "it is a live cage's control socket, and whoever reaches it can change that cage's " +
        "tunnel; leave --keep-socket out (use 'wgcage show' or 'wgcage exec' from the host)",
    );
  }
  return real;
}

/**
 * Every socket file under `roots`, breadth first, at most
 * {@linkcode WALK_MAX_DEPTH} levels down and {@linkcode WALK_MAX_ENTRIES}
 * entries in all. A symlinked directory is never entered (it may lead out
 * of the trees); a symlink to a socket adds the socket.
 */
function walkForSockets(
  fs: SocketFs,
  roots: readonly string[],
  into: Set<string>,
): Omit<HostSockets, "paths"> {
  const seen = new Set<string>();
  const queue: { dir: string; depth: number }[] = [];
  for (const root of roots) {
    const real = fs.realPath(root);
    if (real !== undefined && !seen.has(real)) {
      seen.add(real);
      queue.push({ dir: real, depth: 0 });
    }
  }
  let entries = 0;
  let tooDeep = 0;
  let unreadable = 0;
  for (let i = 0; i < queue.length; i++) {
    const { dir, depth } = queue[i];
    const listing = fs.readDir(dir);
    if (listing === undefined) {
      unreadable++;
      continue;
    }
    const base = dir === "/" ? "" : dir;
    for (const entry of listing) {
      if (++entries > WALK_MAX_ENTRIES) {
        return { entries: WALK_MAX_ENTRIES, tooDeep, unreadable, stoppedIn: dir };
      }
      const path = `${base}/${entry.name}`;
      if (entry.isDirectory) {
        if (seen.has(path)) continue;
        seen.add(path);
        if (depth < WALK_MAX_DEPTH) queue.push({ dir: path, depth: depth + 1 });
        else tooDeep++;
      } else if (entry.isSymlink) {
        addSocket(fs, path, into);
      } else if (!entry.isFile && fs.isSocket(path)) {
        into.add(path);
      }
    }
  }
  return { entries, tooDeep, unreadable };
}

/** The `-v` line saying what was hidden. */
export function describeHidden(sockets: HostSockets, hideAll: boolean): string {
  const n = sockets.paths.length;
  const what = `hiding ${n} host path${n === 1 ? "" : "s"} from the cage`;
  if (!hideAll) {
    return `${what} (the name services', the system bus's and live cages' directories, and ` +
      `the files keys were read from; --hide-sockets hides all sockets)`;
  }
  return `${what} (looked at ${sockets.entries} entries; skipped ${sockets.tooDeep} ` +
    `directories deeper than ${WALK_MAX_DEPTH} levels and ${sockets.unreadable} unreadable)`;
}

/** The warning when the walk stopped early, if it did. */
export function hiddenWarning(sockets: HostSockets): string | undefined {
  if (sockets.stoppedIn === undefined) return undefined;
  return `wgcage: warning: --hide-sockets stopped after ${WALK_MAX_ENTRIES} entries, in ` +
    `'${sockets.stoppedIn}'; sockets it did not reach stay reachable from the cage`;
}
