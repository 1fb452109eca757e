/**
 * Root of the cage cannot take over the cage's own processes: the init (PID 1)
 * and the socket service hold no capability, are non-dumpable and run under
 * no_new_privs and the terminal filter, and a --root command lacks
 * CAP_SYS_PTRACE (and CAP_SYS_ADMIN) but keeps CAP_NET_ADMIN. So it can
 * neither PTRACE_ATTACH nor PTRACE_SEIZE them, nor unmount the cage's
 * /etc/resolv.conf. Checked rootless with --root, as root, and as root through
 * sudo with --root. The init resumes the command's group, giving it the
 * terminal, only when wgcage asks, not when a process of the cage does; and
 * ports below 1024 are open in the cage for the capability-less socket
 * service.
 */

import { assert, assertEquals } from "./cage/assert.ts";
import { DriverEnv, requireTool, type Who } from "./cage/harness.ts";
import { resumeProbe, runResumeProbe } from "./cage/resume_probe.ts";
import { makeTestUser, sudoEnv } from "./cage/test_user.ts";

const CAP_NET_ADMIN = 12;
const CAP_SYS_PTRACE = 19;
const CAP_SYS_ADMIN = 21;

/** Looks at PID 1 and the socket service from the command, and tries to take them over. */
const PROBE = `
import ctypes, json, os, subprocess
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
def status(pid):
    out = {}
    for line in open(f"/proc/{pid}/status"):
        key, _, value = line.partition(":")
        if key in ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb", "Seccomp", "NoNewPrivs"):
            out[key] = value.strip()
    return out
def ptrace(request, pid):
    r = libc.ptrace(request, pid, None, None)
    if r != 0:
        return f"errno {ctypes.get_errno()}"
    # Attached (the code before): let go again, or the init stays stopped.
    if request == 0x4206:
        libc.ptrace(0x4207, pid, None, None)  # PTRACE_INTERRUPT
    os.waitpid(pid, 0x40000000)  # __WALL
    libc.ptrace(17, pid, None, None)  # PTRACE_DETACH
    return "attached"
service = [int(p) for p in os.listdir("/proc") if p.isdigit()
           and open(f"/proc/{p}/comm").read().strip() == "wgcage-sockets"]
report = {"me": status("self"), "init": status(1), "pids": {}}
for pid in [1] + service:
    report["pids"][str(pid)] = {"attach": ptrace(16, pid), "seize": ptrace(0x4206, pid)}
report["service"] = status(service[0]) if service else None
before = open("/etc/resolv.conf").read()
umount = subprocess.run(["umount", "/etc/resolv.conf"], capture_output=True)
report["umount"] = umount.returncode
report["resolv_kept"] = open("/etc/resolv.conf").read() == before and "192.0.2.53" in before
print(json.dumps(report))
`;

interface Status {
  CapEff: string;
  CapPrm: string;
  CapBnd: string;
  CapInh: string;
  CapAmb: string;
  Seccomp: string;
  NoNewPrivs: string;
}

interface Report {
  me: Status;
  init: Status;
  service: Status | null;
  pids: Record<string, { attach: string; seize: string }>;
  umount: number;
  resolv_kept: boolean;
}

function has(mask: string, cap: number): boolean {
  return ((BigInt(`0x${mask}`) >> BigInt(cap)) & 1n) === 1n;
}

function assertConfined(s: Status | null, what: string): void {
  assert(s !== null, `${what}: not found`);
  for (const key of ["CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"] as const) {
    assertEquals(BigInt(`0x${s[key]}`), 0n, `${what} ${key}: ${JSON.stringify(s)}`);
  }
  assertEquals(s.Seccomp, "2", `${what}: under a seccomp filter`);
  assertEquals(s.NoNewPrivs, "1", `${what}: no_new_privs`);
}

const cases: [string, Who, boolean][] = [
  ["rootless --root", "nobody", false],
  ["root", "root", false],
  ["--root under sudo", "root", true],
];

for (const [what, who, sudo] of cases) {
  Deno.test(`cage (${what}): root of the cage cannot trace, or unmount around, the init and the socket service`, async () => {
    requireTool("python3");
    requireTool("umount");
    const env = await DriverEnv.create(who);
    const user = sudo ? await makeTestUser() : null;
    try {
      const extra = user ? sudoEnv(user) : {};
      const r = await env.run(
        {
          mapRoot: who === "nobody" || sudo,
          socketService: true,
          addresses: ["10.7.0.2/24"],
          dns: ["192.0.2.53"],
        },
        ["/usr/bin/python3", "-c", PROBE],
        { env: extra },
      );
      assertEquals(r.code, 0, r.stderr);
      const report: Report = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
      const text = JSON.stringify(report);

      // The command is root of the cage: network capabilities, no ptrace, no mount.
      assert(has(report.me.CapEff, CAP_NET_ADMIN), `command keeps CAP_NET_ADMIN: ${text}`);
      for (const cap of [CAP_SYS_PTRACE, CAP_SYS_ADMIN]) {
        assert(!has(report.me.CapEff, cap), `command lacks cap ${cap}: ${text}`);
        assert(!has(report.me.CapBnd, cap), `command's bounding set lacks cap ${cap}: ${text}`);
      }

      assertConfined(report.init, "PID 1");
      assertConfined(report.service, "the socket service");
      assertEquals(Object.keys(report.pids).length, 2, `PID 1 and the service: ${text}`);
      for (const [pid, tries] of Object.entries(report.pids)) {
        assertEquals(tries, { attach: "errno 1", seize: "errno 1" }, `ptrace of ${pid}: ${text}`);
      }
      assert(report.umount !== 0, `umount /etc/resolv.conf refused: ${text}`);
      assert(report.resolv_kept, `the cage's resolv.conf stays: ${text}`);
    } finally {
      await user?.remove();
      await env.close();
    }
  });
}

for (const [what, who, sudo] of [["rootless", "nobody", false], ["sudo", "root", true]] as const) {
  Deno.test(`cage (${what}): the init of a command that is not root holds no capability either`, async () => {
    requireTool("python3");
    const env = await DriverEnv.create(who);
    const user = sudo ? await makeTestUser() : null;
    try {
      const extra = user ? sudoEnv(user) : {};
      const r = await env.run(
        { socketService: true, addresses: ["10.7.0.2/24"], dns: ["192.0.2.53"] },
        ["/usr/bin/python3", "-c", PROBE],
        { env: extra },
      );
      assertEquals(r.code, 0, r.stderr);
      const report: Report = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
      assertConfined(report.init, "PID 1");
      assertConfined(report.service, "the socket service");
      assertEquals(BigInt(`0x${report.me.CapEff}`), 0n, "the command has no capability");
      assert(report.resolv_kept, JSON.stringify(report));
    } finally {
      await user?.remove();
      await env.close();
    }
  });
}

Deno.test("cage (nobody): ports below 1024 of the cage are open to every process in it, as the capability-less socket service needs", async () => {
  requireTool("python3");
  const env = await DriverEnv.create("nobody");
  try {
    const probe = "import socket; s = socket.socket(); s.bind(('127.0.0.1', 80)); " +
      "print(open('/proc/sys/net/ipv4/ip_unprivileged_port_start').read().strip(), 'bound')";
    const r = await env.run({ addresses: ["10.7.0.2/24"] }, ["/usr/bin/python3", "-c", probe]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout.trim(), "0 bound");
  } finally {
    await env.close();
  }
});

/** Asks PID 1 to resume (as wgcage does on fg) with a plain sigqueue. */
const RESUME_PROBE = resumeProbe(
  "resume-probe",
  `
libc.sigqueue.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
rc = libc.sigqueue(1, signal.SIGRTMIN + 4, ctypes.c_void_p(1))
`,
);

Deno.test("cage (root): a process of the cage cannot make the init resume the command's group", async () => {
  const result = await runResumeProbe("root", RESUME_PROBE, "resume-probe");
  assertEquals(result, "resume-probe 0 still-stopped");
});
