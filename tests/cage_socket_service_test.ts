/**
 * The cage's socket service (launcher/init/socket_service.c), which makes
 * sockets in the cage's network namespace for published ports and host
 * services: it runs before the command, in a session of its own, with every
 * signal blocked and nothing but /dev/null and its socket; the command holds
 * no end of that socket and, not being root of the cage, cannot look into
 * the service (it is not dumpable).
 */

import { assertEquals } from "./cage/assert.ts";
import { DriverEnv, type Who } from "./cage/harness.ts";

/** Prints one JSON line about the service and the command's own fds. */
const INSPECT = `
import json, os
def comm(pid):
    try:
        return open(f"/proc/{pid}/comm").read().strip()
    except OSError:
        return ""
service = [int(p) for p in os.listdir("/proc") if p.isdigit() and comm(p) == "wgcage-sockets"]
own = []
for fd in os.listdir("/proc/self/fd"):
    try:
        own.append(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        pass
report = {"services": service, "me": os.getpid(), "own_sockets": [t for t in own if t.startswith("socket:")]}
if service:
    pid = service[0]
    stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    report["session_leader"] = int(stat[3]) == pid
    status = dict(l.split(":", 1) for l in open(f"/proc/{pid}/status").read().splitlines())
    blocked = int(status["SigBlk"].strip(), 16)
    report["blocks_int_and_tstp"] = bool(blocked & (1 << 1)) and bool(blocked & (1 << 19))
    try:
        report["fds"] = sorted(os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd"))
    except PermissionError:
        report["fds"] = "denied"
print(json.dumps(report))
`;

interface Report {
  services: number[];
  me: number;
  own_sockets: string[];
  session_leader?: boolean;
  blocks_int_and_tstp?: boolean;
  fds?: string[] | "denied";
}

async function inspect(env: DriverEnv, socketService: boolean): Promise<Report> {
  const r = await env.run(
    { addresses: ["10.7.0.2/24"], socketService },
    ["/usr/bin/python3", "-c", INSPECT],
  );
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
}

for (const who of ["nobody", "root"] as Who[]) {
  Deno.test(`cage (${who}): the socket service runs before the command, apart from it, and gives it nothing`, async () => {
    const env = await DriverEnv.create(who);
    try {
      const without = await inspect(env, false);
      assertEquals(without.services, [], "no socket service unless asked for");

      const report = await inspect(env, true);
      assertEquals(report.services.length, 1, JSON.stringify(report));
      const [service] = report.services;
      assertEquals(service < report.me, true, "the service is forked before the command");
      assertEquals(report.own_sockets, [], "the command holds no socket");
      assertEquals(report.session_leader, true, "a session of its own");
      assertEquals(
        report.blocks_int_and_tstp,
        true,
        "terminal and job-control signals are blocked",
      );
      // Same uid, but not dumpable, and no command has CAP_SYS_PTRACE, not
      // even root of the cage: the command cannot look at its fds.
      assertEquals(report.fds, "denied");
    } finally {
      await env.close();
    }
  });
}
