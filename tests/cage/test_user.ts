/**
 * A throwaway user for the sudo-mode tests: its own primary group and one
 * supplementary group, made with useradd/groupadd and removed afterwards, so
 * the tests rely on no account of the machine.
 *
 * @module
 */

import { requireTool } from "./harness.ts";

/** The user the test made. */
export interface TestUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** A supplementary group the user is a member of. */
  readonly group: number;
  /** Removes the user and both groups. */
  remove(): Promise<void>;
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout).trim();
}

/** Makes a user `wgct<random>` with a primary and a supplementary group. */
export async function makeTestUser(): Promise<TestUser> {
  for (const tool of ["useradd", "groupadd", "userdel", "groupdel"]) requireTool(tool);
  const name = `wgct${Math.floor(Math.random() * 1e8)}`;
  const extra = `${name}x`;
  await run("groupadd", [extra]);
  try {
    await run("useradd", ["--no-create-home", "--user-group", "--groups", extra, name]);
  } catch (e) {
    await run("groupdel", [extra]).catch(() => {});
    throw e;
  }
  const remove = async () => {
    await run("userdel", [name]).catch(() => {});
    await run("groupdel", [name]).catch(() => {});
    await run("groupdel", [extra]).catch(() => {});
  };
  try {
    return {
      name,
      uid: Number(await run("id", ["-u", name])),
      gid: Number(await run("id", ["-g", name])),
      group: Number((await run("getent", ["group", extra])).split(":")[2]),
      remove,
    };
  } catch (e) {
    await remove();
    throw e;
  }
}

/** What sudo tells a command it runs as root on behalf of `user`. */
export function sudoEnv(user: TestUser): Record<string, string> {
  return { SUDO_UID: String(user.uid), SUDO_GID: String(user.gid), SUDO_USER: user.name };
}
