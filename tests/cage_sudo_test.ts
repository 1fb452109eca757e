/**
 * Root and sudo mode: as root the cage still gets a user namespace of its
 * own, with every id mapped to itself; started through sudo (SUDO_UID and
 * SUDO_GID set), the cage maps only the invoking user's ids and the command
 * runs as that user with their supplementary groups, and with mapRoot as
 * root of the cage, which is that user on the host: it cannot write where
 * the user cannot, and what it makes is the user's, setuid bits included.
 */

import { assert, assertEquals } from "./cage/assert.ts";
import { DriverEnv, requireTool } from "./cage/harness.ts";
import { quote, RESUMABLE_JOB, stopAndResume, underPty } from "./cage/pty.ts";
import { makeTestUser, sudoEnv } from "./cage/test_user.ts";

Deno.test("cage (root): its own user namespace, every id mapped to itself; through sudo only the sudo user is mapped and the command runs as them with their groups", async () => {
  const env = await DriverEnv.create("root");
  const user = await makeTestUser();
  try {
    const sudo = sudoEnv(user);
    const probe = [
      "sh",
      "-c",
      "id -u; id -g; id -G; readlink /proc/self/ns/user; tr -s ' ' < /proc/self/uid_map",
    ];
    const hostUserns = await Deno.readLink("/proc/self/ns/user");

    const asSudo = await env.run({}, probe, { env: sudo });
    assertEquals(asSudo.code, 0, asSudo.stderr);
    const [uid, gid, groups, userns, map] = asSudo.stdout.trim().split("\n");
    assertEquals([uid, gid], [String(user.uid), String(user.gid)]);
    assert(groups.split(" ").includes(String(user.group)), `groups: ${groups}`);
    assert(userns !== hostUserns, "the cage has its own user namespace as root");
    assertEquals(map.trim(), `${user.uid} ${user.uid} 1`, "only the sudo user is mapped");

    const asRoot = await env.run({ mapRoot: true }, probe, { env: sudo });
    assertEquals(asRoot.code, 0, asRoot.stderr);
    const rootLines = asRoot.stdout.trim().split("\n");
    assertEquals(rootLines.slice(0, 2), ["0", "0"]);
    assertEquals(rootLines[4].trim(), `0 ${user.uid} 1`, "root of the cage is the sudo user");

    const plainRoot = await env.run({}, probe);
    assertEquals(plainRoot.code, 0, plainRoot.stderr);
    assertEquals(plainRoot.stdout.trim().split("\n").slice(0, 2), ["0", "0"]);
    assert(plainRoot.stdout.split("\n")[3] !== hostUserns, "root: its own user namespace");
    assertEquals(
      plainRoot.stdout.trim().split("\n")[4].trim(),
      "0 0 4294967295",
      "real root without sudo: every id maps to itself",
    );
  } finally {
    await user.remove();
    await env.close();
  }
});

Deno.test("cage (sudo, --root): root of the cage is the sudo user over the host's files", async () => {
  const env = await DriverEnv.create("root");
  const user = await makeTestUser();
  // Stands for /etc/cron.d: root's, 0755. The work dir is the sudo user's.
  const cron = `${env.dir}/cron.d`;
  const work = `${env.dir}/work`;
  try {
    await Deno.mkdir(cron, { mode: 0o755 });
    await Deno.chmod(cron, 0o755);
    await Deno.mkdir(work, { mode: 0o755 });
    await Deno.chown(work, user.uid, user.gid);
    const sudo = sudoEnv(user);
    const probe = [
      "sh",
      "-c",
      `id -u; (echo '* * * * * root id' > ${cron}/job) 2>/dev/null && echo wrote-cron || ` +
      `echo refused-cron; echo made > ${work}/made; cp /bin/true ${work}/suid && ` +
      `chmod u+s ${work}/suid; echo done`,
    ];
    const r = await env.run({ mapRoot: true }, probe, { env: sudo });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout.trim().split("\n"), ["0", "refused-cron", "done"]);
    await Deno.stat(`${cron}/job`).then(
      () => assert(false, "a file appeared in the root-owned directory"),
      (e) => assert(e instanceof Deno.errors.NotFound, String(e)),
    );
    const made = await Deno.stat(`${work}/made`);
    assertEquals([made.uid, made.gid], [user.uid, user.gid], "the file is the sudo user's");
    const suid = await Deno.stat(`${work}/suid`);
    assertEquals(suid.uid, user.uid, "the setuid copy is owned by the sudo user, not root");
    assert(((suid.mode ?? 0) & 0o4000) !== 0, "chmod u+s took (on the user's own file)");
  } finally {
    await user.remove();
    await env.close();
  }
});

Deno.test("cage (sudo): under a job-control shell, Ctrl-Z stops the job and fg resumes the command", async () => {
  // The init runs as the sudo user and wgcage as root: the init's stop of
  // wgcage's group must still reach wgcage (its saved uid is the user's).
  requireTool("script");
  requireTool("bash");
  const env = await DriverEnv.create("root");
  const user = await makeTestUser();
  try {
    const line = `SUDO_UID=${user.uid} SUDO_GID=${user.gid} ` +
      env.args({}, ["/usr/bin/python3", "-c", RESUMABLE_JOB]).map(quote).join(" ");
    const pty = underPty(env, "bash --norc --noprofile -i");
    const { out, type } = pty;
    try {
      await type(`${line}\n`);
      await out.waitFor(/^started\r?$/, 15000);
      await stopAndResume(pty);
      assertEquals((await pty.status).code, 0);
    } finally {
      await pty.close();
    }
  } finally {
    await user.remove();
    await env.close();
  }
});
