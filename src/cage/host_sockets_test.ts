import { deepStrictEqual, strictEqual, throws } from "node:assert";
import {
  describeHidden,
  hiddenWarning,
  hostSocketFs,
  type HostSocketPolicy,
  hostSocketsToHide,
  type SocketFs,
  type SocketFsEntry,
  WALK_MAX_DEPTH,
  WALK_MAX_ENTRIES,
} from "./host_sockets.ts";
import { CageError } from "./error.ts";

type Node =
  | { kind: "dir"; unreadable?: boolean }
  | { kind: "socket" }
  | { kind: "file" }
  | { kind: "symlink"; target: string };

/** A file system made of `nodes` (absolute paths; parents are made as needed). */
class FakeFs implements SocketFs {
  readonly nodes = new Map<string, Node>([["/", { kind: "dir" }]]);
  /** Directories read, in order. */
  readonly read: string[] = [];

  constructor(nodes: Record<string, Node>) {
    for (const [path, node] of Object.entries(nodes)) this.add(path, node);
  }

  add(path: string, node: Node): void {
    const parts = path.split("/").filter((p) => p !== "");
    for (let i = 1; i < parts.length; i++) {
      const dir = "/" + parts.slice(0, i).join("/");
      if (!this.nodes.has(dir)) this.nodes.set(dir, { kind: "dir" });
    }
    this.nodes.set(path, node);
  }

  realPath(path: string): string | undefined {
    let resolved = "";
    const parts = path.split("/").filter((p) => p !== "");
    for (let hops = 0, i = 0; i < parts.length; i++) {
      const next = `${resolved}/${parts[i]}`;
      const node = this.nodes.get(next);
      if (node === undefined) return undefined;
      if (node.kind === "symlink") {
        if (++hops > 40) return undefined;
        const rest = parts.slice(i + 1).join("/");
        const target = node.target.startsWith("/") ? node.target : `${resolved}/${node.target}`;
        return this.realPath(rest === "" ? target : `${target}/${rest}`);
      }
      resolved = next;
    }
    return resolved === "" ? "/" : resolved;
  }

  isSocket(path: string): boolean {
    return this.nodes.get(path)?.kind === "socket";
  }

  readDir(path: string): Iterable<SocketFsEntry> | undefined {
    const node = this.nodes.get(path);
    if (node?.kind !== "dir" || node.unreadable) return undefined;
    this.read.push(path);
    const prefix = path === "/" ? "/" : `${path}/`;
    const entries: SocketFsEntry[] = [];
    for (const [p, n] of this.nodes) {
      if (!p.startsWith(prefix) || p === path || p.slice(prefix.length).includes("/")) continue;
      entries.push({
        name: p.slice(prefix.length),
        isDirectory: n.kind === "dir",
        isSymlink: n.kind === "symlink",
        isFile: n.kind === "file",
      });
    }
    return entries;
  }
}

/** A Debian-like host: /var/run → /run, resolved, nscd, the buses, some other sockets. */
function host(): FakeFs {
  return new FakeFs({
    "/var/run": { kind: "symlink", target: "/run" },
    "/run/nscd/socket": { kind: "socket" },
    "/run/nscd/nscd.pid": { kind: "file" },
    "/run/systemd/resolve/io.systemd.Resolve": { kind: "socket" },
    "/run/systemd/resolve/io.systemd.Resolve.Monitor": { kind: "socket" },
    "/run/systemd/resolve/stub-resolv.conf": { kind: "file" },
    "/run/systemd/resolve/netif": { kind: "dir" },
    "/run/dbus/system_bus_socket": { kind: "socket" },
    "/run/docker.sock": { kind: "socket" },
    "/run/user/1000/bus": { kind: "socket" },
    "/run/user/1000/gnupg/S.gpg-agent": { kind: "socket" },
    "/tmp/.X11-unix/X0": { kind: "socket" },
    "/tmp/notes.txt": { kind: "file" },
  });
}

const DEFAULTS: HostSocketPolicy = { hideAll: false, keep: [] };
const ALL: HostSocketPolicy = { hideAll: true, keep: [] };

Deno.test("hostSocketsToHide covers the name services' and the system bus's directories by default, each once", () => {
  const fs = host();
  const hidden = hostSocketsToHide(DEFAULTS, fs);
  deepStrictEqual(hidden.paths.toSorted(), ["/run/dbus", "/run/nscd", "/run/systemd/resolve"]);
  // Nothing else was read: the default costs a few look-ups, no walk.
  const candidates = ["/run/nscd", "/run/systemd/resolve", "/run/avahi-daemon", "/run/dbus"];
  deepStrictEqual(fs.read.filter((d) => !candidates.includes(d)), []);
  strictEqual(hidden.entries, 0);
});

Deno.test("hostSocketsToHide reads each directory once, however many names lead to it", () => {
  const fs = host();
  fs.add("/run/wireguard/wg0.sock", { kind: "socket" });
  fs.add("/run/wgcage", { kind: "dir" });
  const hidden = hostSocketsToHide({ ...DEFAULTS, stateDirs: ["/var/run/wgcage"] }, fs);
  deepStrictEqual(hidden.paths.toSorted(), [
    "/run/dbus",
    "/run/nscd",
    "/run/systemd/resolve",
    "/run/wgcage",
    "/run/wireguard",
  ]);
  deepStrictEqual(fs.read.toSorted(), [...new Set(fs.read)].toSorted());
});

Deno.test("hostSocketsToHide hides nothing on a host without those daemons", () => {
  const fs = new FakeFs({
    "/run/lock/x.pid": { kind: "file" },
    "/tmp/x.sock": { kind: "socket" },
  });
  deepStrictEqual(hostSocketsToHide(DEFAULTS, fs).paths, []);
});

Deno.test("hostSocketsToHide covers a name service's directory before its daemon made a socket in it", () => {
  const fs = new FakeFs({
    "/run/nscd/nscd.pid": { kind: "file" },
    "/run/avahi-daemon/socket": { kind: "socket" },
  });
  deepStrictEqual(hostSocketsToHide(DEFAULTS, fs).paths.toSorted(), [
    "/run/avahi-daemon",
    "/run/nscd",
  ]);
});

Deno.test("hostSocketsToHide with --hide-sockets hides every socket under /run, /tmp and XDG_RUNTIME_DIR", () => {
  const fs = host();
  fs.add("/home/u/.run/agent.sock", { kind: "socket" });
  fs.add("/home/u/elsewhere.sock", { kind: "socket" });
  const hidden = hostSocketsToHide({ ...ALL, runtimeDir: "/home/u/.run" }, fs);
  deepStrictEqual(hidden.paths.toSorted(), [
    "/home/u/.run/agent.sock",
    "/run/dbus",
    "/run/docker.sock",
    "/run/nscd",
    "/run/systemd/resolve",
    "/run/user/1000/bus",
    "/run/user/1000/gnupg/S.gpg-agent",
    "/tmp/.X11-unix/X0",
  ]);
  // /var/run is /run: walked once.
  strictEqual(fs.read.filter((d) => d === "/run").length, 1);
  strictEqual(hidden.stoppedIn, undefined);
  strictEqual(hiddenWarning(hidden), undefined);
});

Deno.test("hostSocketsToHide walks an XDG_RUNTIME_DIR inside /run once, and ignores a relative one", () => {
  const fs = host();
  const inside = hostSocketsToHide({ ...ALL, runtimeDir: "/run/user/1000" }, fs);
  strictEqual(fs.read.filter((d) => d === "/run/user/1000").length, 1);
  strictEqual(inside.paths.filter((p) => p === "/run/user/1000/bus").length, 1);
  const relative = hostSocketsToHide({ ...ALL, runtimeDir: "run/user" }, host());
  deepStrictEqual(relative.paths.toSorted(), inside.paths.toSorted());
});

Deno.test("hostSocketsToHide never enters a symlinked directory, but hides a socket a symlink names", () => {
  const fs = host();
  fs.add("/home/u/secret/agent.sock", { kind: "socket" });
  fs.add("/tmp/out", { kind: "symlink", target: "/home/u/secret" });
  fs.add("/home/u/other.sock", { kind: "socket" });
  fs.add("/tmp/link.sock", { kind: "symlink", target: "/home/u/other.sock" });
  fs.add("/tmp/dangling", { kind: "symlink", target: "/nowhere" });
  const hidden = hostSocketsToHide(ALL, fs);
  strictEqual(hidden.paths.includes("/home/u/secret/agent.sock"), false);
  strictEqual(hidden.paths.includes("/home/u/other.sock"), true);
  strictEqual(hidden.paths.includes("/tmp/link.sock"), false);
  strictEqual(fs.read.includes("/home/u/secret"), false);
});

Deno.test("hostSocketsToHide skips what it cannot read and counts it", () => {
  const fs = host();
  fs.add("/run/user/0", { kind: "dir", unreadable: true });
  fs.add("/run/user/0/bus", { kind: "socket" });
  const hidden = hostSocketsToHide(ALL, fs);
  strictEqual(hidden.unreadable, 1);
  strictEqual(hidden.paths.includes("/run/user/0/bus"), false);
  strictEqual(hidden.paths.includes("/run/user/1000/bus"), true);
});

Deno.test("hostSocketsToHide goes WALK_MAX_DEPTH levels down and no further", () => {
  const fs = host();
  const deep = (levels: number) =>
    "/tmp" + Array.from({ length: levels }, (_, i) => `/d${i}`).join("") + "/s.sock";
  fs.add(deep(WALK_MAX_DEPTH), { kind: "socket" });
  fs.add(deep(WALK_MAX_DEPTH + 1).replace("/tmp/d0", "/tmp/e0"), { kind: "socket" });
  const hidden = hostSocketsToHide(ALL, fs);
  strictEqual(hidden.paths.includes(deep(WALK_MAX_DEPTH)), true);
  strictEqual(hidden.paths.some((p) => p.startsWith("/tmp/e0")), false);
  strictEqual(hidden.tooDeep, 1);
});

Deno.test("hostSocketsToHide stops after WALK_MAX_ENTRIES entries and says where", () => {
  const fs = host();
  for (let i = 0; i < WALK_MAX_ENTRIES; i++) fs.add(`/tmp/big/f${i}`, { kind: "file" });
  const hidden = hostSocketsToHide(ALL, fs);
  strictEqual(hidden.entries, WALK_MAX_ENTRIES);
  strictEqual(hidden.stoppedIn, "/tmp/big");
  strictEqual(
    hiddenWarning(hidden),
    `wgcage: warning: --hide-sockets stopped after ${WALK_MAX_ENTRIES} entries, in '/tmp/big'; ` +
      "sockets it did not reach stay reachable from the cage",
  );
  // What it found before it stopped is still hidden.
  strictEqual(hidden.paths.includes("/run/docker.sock"), true);
});

Deno.test("hostSocketsToHide leaves a --keep-socket socket reachable, named by any path to it", () => {
  const fs = host();
  fs.add("/home/u/bus-link", { kind: "symlink", target: "/var/run/user/1000/bus" });
  const hidden = hostSocketsToHide(
    { hideAll: true, keep: ["/var/run/docker.sock", "/home/u/bus-link"] },
    fs,
  );
  strictEqual(hidden.paths.includes("/run/docker.sock"), false);
  strictEqual(hidden.paths.includes("/run/user/1000/bus"), false);
  strictEqual(hidden.paths.includes("/tmp/.X11-unix/X0"), true);
  // The system bus may be kept without --hide-sockets.
  const bus = hostSocketsToHide({ hideAll: false, keep: ["/run/dbus/system_bus_socket"] }, host());
  strictEqual(bus.paths.includes("/run/dbus/system_bus_socket"), false);
  strictEqual(bus.paths.includes("/run/dbus"), false, "its directory stays, the socket kept");
  strictEqual(bus.paths.includes("/run/nscd"), true);
  // A socket that is not hidden anyway may be named too.
  deepStrictEqual(
    hostSocketsToHide({ hideAll: false, keep: ["/tmp/.X11-unix/X0"] }, host()).paths.length,
    3,
  );
});

Deno.test("hostSocketsToHide refuses a --keep-socket that is missing, not a socket, or a name service's", () => {
  const cases: [string, string][] = [
    [
      "/run/nope.sock",
      "wgcage: Cannot keep '/run/nope.sock' for the cage: no such file; name a unix socket of " +
      `the host, e.g. --keep-socket "$XDG_RUNTIME_DIR/bus"`,
    ],
    [
      "/tmp/notes.txt",
      "wgcage: Cannot keep '/tmp/notes.txt' for the cage: it is not a unix socket; name a socket file",
    ],
    [
      "/var/run/nscd/socket",
      "wgcage: Cannot keep '/var/run/nscd/socket' for the cage: it is a name service's socket, " +
      "and lookups through it would leave outside the tunnel; leave --keep-socket out (the " +
      "cage resolves names through the tunnel)",
    ],
  ];
  for (const [path, message] of cases) {
    throws(() => hostSocketsToHide({ hideAll: true, keep: [path] }, host()), (e: unknown) => {
      if (!(e instanceof CageError)) throw e;
      strictEqual(e.message, message);
      strictEqual(e.exitCode, 125);
      return true;
    });
  }
  throws(
    () =>
      hostSocketsToHide(
        { hideAll: false, keep: ["/run/systemd/resolve/io.systemd.Resolve"] },
        host(),
      ),
    CageError,
  );
});

Deno.test("describeHidden says how many sockets are hidden, and how the walk went", () => {
  const fs = host();
  strictEqual(
    describeHidden(hostSocketsToHide(DEFAULTS, fs), false),
    "hiding 3 host paths from the cage (the name services', the system bus's and live cages' " +
      "directories, and the files keys were read from; --hide-sockets hides all sockets)",
  );
  fs.add("/run/user/0", { kind: "dir", unreadable: true });
  const all = hostSocketsToHide(ALL, fs);
  strictEqual(
    describeHidden(all, true),
    `hiding 7 host paths from the cage (looked at ${all.entries} entries; skipped 0 ` +
      `directories deeper than ${WALK_MAX_DEPTH} levels and 1 unreadable)`,
  );
});

Deno.test("hostSocketFs finds a real socket, and nothing at a missing path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wgcage-sockets-" });
  try {
    const listener = Deno.listen({ transport: "unix", path: `${dir}/s.sock` });
    try {
      await Deno.symlink(`${dir}/s.sock`, `${dir}/link`);
      await Deno.writeTextFile(`${dir}/file`, "");
      const real = await Deno.realPath(dir);
      strictEqual(hostSocketFs.realPath(`${dir}/link`), `${real}/s.sock`);
      strictEqual(hostSocketFs.isSocket(`${real}/s.sock`), true);
      strictEqual(hostSocketFs.isSocket(`${dir}/link`), false, "a symlink is not followed");
      strictEqual(hostSocketFs.isSocket(`${dir}/file`), false);
      strictEqual(hostSocketFs.realPath(`${dir}/missing`), undefined);
      strictEqual(hostSocketFs.readDir(`${dir}/missing`), undefined);
      const names = [...hostSocketFs.readDir(dir)!].map((e) => e.name).toSorted();
      deepStrictEqual(names, ["file", "link", "s.sock"]);
    } finally {
      listener.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hostSocketsToHide covers the live cages' state directories and the stock wg's socket directory", () => {
  const fs = host();
  fs.add("/run/user/1000/wgcage/ci.sock", { kind: "socket" });
  fs.add("/run/user/1000/wgcage/ci.json", { kind: "file" });
  fs.add("/run/wireguard/ci.sock", { kind: "symlink", target: "/run/wgcage/ci.sock" });
  fs.add("/run/wgcage", { kind: "dir" });
  const hidden = hostSocketsToHide(
    { ...DEFAULTS, stateDirs: ["/run/user/1000/wgcage", "/run/wgcage", "/run/user/7/wgcage"] },
    fs,
  );
  for (const dir of ["/run/user/1000/wgcage", "/run/wgcage", "/run/wireguard"]) {
    strictEqual(hidden.paths.includes(dir), true, dir);
  }
  // One that does not exist cannot be covered (state_cover.ts makes this user's first).
  strictEqual(hidden.paths.includes("/run/user/7/wgcage"), false);
  // With --hide-sockets, the sockets inside need no cover of their own.
  const all = hostSocketsToHide({ ...ALL, stateDirs: ["/run/user/1000/wgcage"] }, fs);
  strictEqual(all.paths.includes("/run/user/1000/wgcage"), true);
  strictEqual(all.paths.includes("/run/user/1000/wgcage/ci.sock"), false);
  // A control socket cannot be kept.
  throws(
    () =>
      hostSocketsToHide(
        {
          ...DEFAULTS,
          stateDirs: ["/run/user/1000/wgcage"],
          keep: ["/var/run/user/1000/wgcage/ci.sock"],
        },
        fs,
      ),
    (e: unknown) => {
      if (!(e instanceof CageError)) throw e;
      strictEqual(
        e.message,
        "wgcage: Cannot keep '/var/run/user/1000/wgcage/ci.sock' for the cage: it is a live " +
          "cage's control socket, and whoever reaches it can change that cage's tunnel; leave " +
          "--keep-socket out (use 'wgcage show' or 'wgcage exec' from the host)",
      );
      return true;
    },
  );
});

Deno.test("hostSocketsToHide covers the files keys were read from, unless a covered directory holds them", () => {
  const fs = host();
  fs.add("/home/u/wg.conf", { kind: "file" });
  const hidden = hostSocketsToHide(
    { ...DEFAULTS, secretFiles: ["/home/u/wg.conf", "/run/nscd/k.key"] },
    fs,
  );
  strictEqual(hidden.paths.includes("/home/u/wg.conf"), true);
  strictEqual(hidden.paths.includes("/run/nscd/k.key"), false);
});
