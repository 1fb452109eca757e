/**
 * Root and sudo mode: as root the cage still gets a user namespace of its
 * own, with every id mapped to itself; started through sudo (SUDO_UID and
 * SUDO_GID set), the command runs as the invoking user with their
 * supplementary groups, unless mapRoot.
 */

import { assert, assertEquals } from "./cage/assert.ts";
import { DriverEnv } from "./cage/harness.ts";
import { makeTestUser } from "./cage/test_user.ts";

Deno.test("cage (root): an identity-mapped user namespace; through sudo the command runs as the sudo user with their groups", async () => {
  const env = await DriverEnv.create("root");
  const user = await makeTestUser();
  try {
    const sudo = { SUDO_UID: String(user.uid), SUDO_GID: String(user.gid), SUDO_USER: user.name };
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
    assertEquals(map.trim(), "0 0 4294967295", "every id maps to itself");

    const asRoot = await env.run({ mapRoot: true }, probe, { env: sudo });
    assertEquals(asRoot.code, 0, asRoot.stderr);
    assertEquals(asRoot.stdout.trim().split("\n").slice(0, 2), ["0", "0"]);

    const plainRoot = await env.run({}, probe);
    assertEquals(plainRoot.code, 0, plainRoot.stderr);
    assertEquals(plainRoot.stdout.trim().split("\n").slice(0, 2), ["0", "0"]);
    assert(plainRoot.stdout.split("\n")[3] !== hostUserns, "root: its own user namespace");
  } finally {
    await user.remove();
    await env.close();
  }
});
