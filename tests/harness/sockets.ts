/**
 * The TCP and UDP sockets a process holds, read from /proc: its fds name the
 * socket inodes it owns, and /proc/PID/net/{tcp,tcp6,udp,udp6} (the tables of
 * its network namespace) say what each one is bound to and whether it
 * listens.
 *
 * @module
 */

/** One TCP or UDP socket of a process. */
export interface HeldSocket {
  readonly table: "tcp" | "tcp6" | "udp" | "udp6";
  /** The local port. */
  readonly port: number;
  /** A TCP socket in LISTEN state. */
  readonly listening: boolean;
  readonly inode: string;
}

const TABLES = ["tcp", "tcp6", "udp", "udp6"] as const;
/** TCP_LISTEN in the `st` column of /proc/net/tcp. */
const TCP_LISTEN = "0A";

interface TableRow {
  readonly port: number;
  readonly state: string;
  readonly inode: string;
}

async function tableRows(pid: number, table: string): Promise<TableRow[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(`/proc/${pid}/net/${table}`);
  } catch {
    return []; // no IPv6 in that namespace, or the process is gone
  }
  // "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …"
  return text.split("\n").slice(1).filter((l) => l.trim() !== "").map((line) => {
    const f = line.trim().split(/\s+/);
    return { port: parseInt(f[1].split(":")[1], 16), state: f[3], inode: f[9] };
  });
}

/** The inodes of the sockets among a process's fds. */
async function socketInodes(pid: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(`/proc/${pid}/fd`));
  } catch {
    return inodes;
  }
  for (const e of entries) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(await Deno.readLink(`/proc/${pid}/fd/${e.name}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** Every TCP and UDP socket `pid` holds (needs root for another user's process). */
export async function heldSockets(pid: number): Promise<HeldSocket[]> {
  const mine = await socketInodes(pid);
  const held: HeldSocket[] = [];
  for (const table of TABLES) {
    for (const row of await tableRows(pid, table)) {
      if (!mine.has(row.inode)) continue;
      held.push({
        table,
        port: row.port,
        listening: table.startsWith("tcp") && row.state === TCP_LISTEN,
        inode: row.inode,
      });
    }
  }
  return held;
}

/** The TCP ports anyone listens on in the network namespace of `pid`. */
export async function tcpListenPorts(pid: number): Promise<number[]> {
  const ports: number[] = [];
  for (const table of ["tcp", "tcp6"]) {
    for (const row of await tableRows(pid, table)) {
      if (row.state === TCP_LISTEN) ports.push(row.port);
    }
  }
  return ports;
}

/** The pids of every process descended from `pid`. */
export async function descendants(pid: number): Promise<number[]> {
  const parent = new Map<number, number>();
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${e.name}/stat`);
      // "pid (comm) state ppid …": comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parent.set(Number(e.name), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  for (const p of parent.keys()) {
    for (let up = parent.get(p); up !== undefined && up > 1; up = parent.get(up)) {
      if (up === pid) {
        found.push(p);
        break;
      }
    }
  }
  return found;
}
