/**
 * The cage holds against its own command: it cannot type into the terminal
 * it was started from (TIOCSTI, TIOCLINUX), cannot leave through a host
 * namespace as root, cannot gain privileges through a setuid program, and a
 * kill -9 of wgcage at any moment leaves nothing behind.
 */

import { assert, assertEquals } from "./cage/assert.ts";
import { DriverEnv, processesWith, requireTool, type Who } from "./cage/harness.ts";
import { quote, underPty } from "./cage/pty.ts";
import { makeTestUser, sudoEnv } from "./cage/test_user.ts";

/** Tries TIOCSTI on stdin, plainly and with junk in the request's high bits. */
const TIOCSTI_PROBE = [
  "python3",
  "-c",
  `import fcntl, os
for name, req in (("plain", 0x5412), ("high-bits", 0x100005412)):
    try:
        fcntl.ioctl(0, req, b"#")
        print(name, "injected", flush=True)
    except OSError as e:
        print(name, "errno", e.errno, flush=True)
try:
    fcntl.ioctl(0, 0x541C, bytes([3]))
    print("tioclinux", "allowed", flush=True)
except OSError as e:
    print("tioclinux", "errno", e.errno, flush=True)
`,
];

for (const who of ["nobody", "root"] as Who[]) {
  Deno.test(`cage (${who}): the command cannot push input into the terminal it was started from`, async () => {
    requireTool("script");
    requireTool("python3");
    const env = await DriverEnv.create(who);
    const pty = underPty(env, env.args({}, TIOCSTI_PROBE).map(quote).join(" "));
    try {
      await pty.out.waitFor(/^tioclinux /, 20_000);
      const text = pty.out.text();
      // EPERM (1) from the cage's filter; on a kernel without legacy TIOCSTI
      // the kernel refuses it as well, with EIO/EPERM: never "injected".
      assert(/^plain errno 1\r?$/m.test(text), `TIOCSTI: ${text}`);
      assert(/^high-bits errno 1\r?$/m.test(text), `TIOCSTI with high bits: ${text}`);
      assert(/^tioclinux errno 1\r?$/m.test(text), `TIOCLINUX: ${text}`);
      assertEquals((await pty.status).code, 0, text);
    } finally {
      await pty.close();
      await env.close();
    }
  });
}

Deno.test("cage: no_new_privs holds for the command in every mode", async () => {
  const probe = ["sh", "-c", "grep NoNewPrivs /proc/self/status"];
  for (
    const [who, spec] of [["nobody", {}], ["nobody", { mapRoot: true }], ["root", {}]] as const
  ) {
    const env = await DriverEnv.create(who);
    try {
      const r = await env.run(spec, probe);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(
        r.stdout.trim().replace(/\s+/g, " "),
        "NoNewPrivs: 1",
        `${who} ${JSON.stringify(spec)}`,
      );
    } finally {
      await env.close();
    }
  }
});

/** A network namespace of the host, as `ip netns add` leaves it in /run/netns. */
async function hostNetns(): Promise<{ path: string; remove(): Promise<void> }> {
  requireTool("ip");
  const name = `wgct${Math.floor(Math.random() * 1e8)}`;
  const add = await new Deno.Command("ip", { args: ["netns", "add", name] }).output();
  if (!add.success) throw new Error(`ip netns add ${name} failed`);
  return {
    path: `/run/netns/${name}`,
    remove: async () => {
      await new Deno.Command("ip", { args: ["netns", "del", name] }).output();
    },
  };
}

Deno.test("cage (root): the command cannot enter a host namespace, not even as root of the cage", async () => {
  requireTool("nsenter");
  const env = await DriverEnv.create("root");
  const netns = await hostNetns();
  const user = await makeTestUser();
  try {
    const probe = [
      "sh",
      "-c",
      `nsenter --net=${netns.path} true 2>/dev/null && echo escaped-net || echo contained-net`,
    ];
    const sudo = sudoEnv(user);
    for (
      const [what, spec, extra] of [
        ["root", {}, {}],
        ["--root under sudo", { mapRoot: true }, sudo],
      ] as const
    ) {
      const r = await env.run(spec, probe, { env: extra });
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout.trim(), "contained-net", what);
    }
  } finally {
    await user.remove();
    await netns.remove();
    await env.close();
  }
});

for (const [who, spec] of [["nobody", { mapRoot: true }], ["root", {}]] as const) {
  Deno.test(`cage (${who}, root of the cage): a hidden host socket stays hidden, even after umount`, async () => {
    requireTool("python3");
    requireTool("unshare");
    const env = await DriverEnv.create(who);
    try {
      const socket = `${env.dir}/daemon.sock`;
      const bind = await new Deno.Command("python3", {
        args: ["-c", "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", socket],
      }).output();
      assert(bind.success, "made the test's socket");
      const probe = `umount ${socket} 2>/dev/null; unshare -Urm umount ${socket} 2>/dev/null; ` +
        `[ -S ${socket} ] && echo visible || echo hidden`;
      const hidden = await env.run({ ...spec, hidePaths: [socket] }, ["sh", "-c", probe]);
      assertEquals(hidden.code, 0, hidden.stderr);
      assertEquals(hidden.stdout.trim(), "hidden");
      const shown = await env.run(spec, ["sh", "-c", probe]);
      assertEquals(shown.stdout.trim(), "visible", "without hiding, the socket is there");
    } finally {
      await env.close();
    }
  });
}

Deno.test("cage (sudo): a passwordless sudo in the cage does not make the command root", async () => {
  requireTool("sudo");
  const env = await DriverEnv.create("root");
  const user = await makeTestUser();
  const sudoers = `/etc/sudoers.d/${user.name}`;
  try {
    await Deno.writeTextFile(sudoers, `${user.name} ALL=(ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
    await Deno.chmod(sudoers, 0o440);
    const sudo = sudoEnv(user);
    // Outside the cage, that user gets root through sudo: the setup works.
    const outside = await new Deno.Command("setpriv", {
      args: [
        `--reuid=${user.uid}`,
        `--regid=${user.gid}`,
        "--init-groups",
        "sudo",
        "-n",
        "id",
        "-u",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(new TextDecoder().decode(outside.stdout).trim(), "0", "sudo works outside");
    const r = await env.run({}, ["sh", "-c", "id -u; sudo -n id -u 2>/dev/null || echo refused"], {
      env: sudo,
    });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout.trim().split("\n"), [String(user.uid), "refused"]);
  } finally {
    await Deno.remove(sudoers).catch(() => {});
    await user.remove();
    await env.close();
  }
});

Deno.test("cage (root): --no-userns gives no boundary, as documented, and still no_new_privs", async () => {
  const env = await DriverEnv.create("root");
  try {
    const hostUserns = await Deno.readLink("/proc/self/ns/user");
    const r = await env.run({ noUserns: true }, [
      "sh",
      "-c",
      "readlink /proc/self/ns/user; grep NoNewPrivs /proc/self/status",
    ]);
    assertEquals(r.code, 0, r.stderr);
    const [userns, nnp] = r.stdout.trim().split("\n");
    assertEquals(userns, hostUserns);
    assertEquals(nnp.replace(/\s+/g, " "), "NoNewPrivs: 1");
  } finally {
    await env.close();
  }
});

for (const [who, kills] of [["nobody", 20], ["root", 10]] as const) {
  Deno.test(`cage (${who}): kill -9 of wgcage at any moment leaves no file and no process`, async () => {
    const env = await DriverEnv.create(who);
    try {
      for (let i = 0; i < kills; i++) {
        const tag = `${3000 + i}.${Math.floor(Math.random() * 1e9)}`;
        const child = env.spawn({}, ["sleep", tag]);
        await new Promise((r) => setTimeout(r, Math.random() * 600));
        try {
          child.kill("SIGKILL");
        } catch {
          // it ended on its own
        }
        await child.output();
        const end = Date.now() + 5000;
        while ((await processesWith(tag)).length > 0 && Date.now() < end) {
          await new Promise((r) => setTimeout(r, 20));
        }
        assertEquals(await processesWith(tag), [], `kill ${i}: the cage ended with wgcage`);
        assertEquals(await env.leftovers(), [], `kill ${i}: nothing left in TMPDIR`);
      }
    } finally {
      await env.close();
    }
  });
}
