/**
 * Root and sudo mode: as root no user namespace is made; started through sudo
 * (SUDO_UID/SUDO_GID set), the command runs as the invoking user with their
 * supplementary groups, unless mapRoot.
 */

import { assert, assertEquals } from "./cage/assert.ts";
import { DriverEnv } from "./cage/harness.ts";

/** A user from /etc/passwd who is a member of some group in /etc/group. */
async function userWithSupplementaryGroup(): Promise<{ uid: number; gid: number; group: number }> {
  const passwd = (await Deno.readTextFile("/etc/passwd")).split("\n").map((l) => l.split(":"));
  for (const g of (await Deno.readTextFile("/etc/group")).split("\n").map((l) => l.split(":"))) {
    for (const member of (g[3] ?? "").split(",").filter((m) => m !== "")) {
      const p = passwd.find((p) => p[0] === member);
      if (p && p[3] !== g[2]) return { uid: Number(p[2]), gid: Number(p[3]), group: Number(g[2]) };
    }
  }
  throw new Error("The sudo test needs a user with a supplementary group in /etc/group");
}

Deno.test("cage (root): no user namespace; through sudo the command runs as the sudo user with their groups", async () => {
  const env = await DriverEnv.create("root");
  try {
    const user = await userWithSupplementaryGroup();
    const sudo = { SUDO_UID: String(user.uid), SUDO_GID: String(user.gid), SUDO_USER: "x" };
    const probe = ["sh", "-c", "id -u; id -g; id -G; readlink /proc/self/ns/user"];
    const hostUserns = await Deno.readLink("/proc/self/ns/user");

    const asSudo = await env.run({}, probe, { env: sudo });
    assertEquals(asSudo.code, 0, asSudo.stderr);
    const [uid, gid, groups, userns] = asSudo.stdout.trim().split("\n");
    assertEquals([uid, gid], [String(user.uid), String(user.gid)]);
    assert(groups.split(" ").includes(String(user.group)), `groups: ${groups}`);
    assertEquals(userns, hostUserns, "no user namespace as root");

    const asRoot = await env.run({ mapRoot: true }, probe, { env: sudo });
    assertEquals(asRoot.code, 0, asRoot.stderr);
    assertEquals(asRoot.stdout.trim().split("\n").slice(0, 2), ["0", "0"]);

    const plainRoot = await env.run({}, probe);
    assertEquals(plainRoot.code, 0, plainRoot.stderr);
    assertEquals(plainRoot.stdout.trim().split("\n").slice(0, 2), ["0", "0"]);
  } finally {
    await env.close();
  }
});
