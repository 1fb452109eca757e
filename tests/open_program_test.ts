/**
 * `wgl_fd_open_program` (launcher/fd.c) opens the cage's init for the child's
 * execveat only when only root can change it and everyone can run it,
 * checked on the open file; the fd it gives is read-only and close-on-exec
 * (tests/launcher_file_test.ts runs a cage's init from it).
 *
 * Needs root (it makes files of root's and of another user's).
 *
 * @module
 */

import { launcher, prepareLauncher } from "../src/launcher/library.ts";
import { EPERM } from "../src/launcher/errno.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const ELOOP = 40;

Deno.test("wgl_fd_open_program opens root's program, and no file another user could change", async () => {
  if (Deno.uid() !== 0) {
    throw new Error("This test needs root (it makes files of root's and another user's)");
  }
  await prepareLauncher();
  const ffi = launcher();
  const open = (path: string) => ffi.wgl_fd_open_program(new TextEncoder().encode(`${path}\0`));
  const dir = await Deno.makeTempDir();
  try {
    await Deno.chmod(dir, 0o755);
    const path = `${dir}/prog`;
    await Deno.copyFile("/bin/true", path);
    await Deno.chmod(path, 0o755);
    const fd = open(path);
    assert(fd >= 0, `root's 0755 program: ${fd}`);
    try {
      const fdinfo = await Deno.readTextFile(`/proc/self/fdinfo/${fd}`);
      const flags = parseInt(/^flags:\s+([0-7]+)$/m.exec(fdinfo)![1], 8);
      assert((flags & 0o2000000) !== 0 && (flags & 3) === 0, `not O_RDONLY|O_CLOEXEC: ${flags}`);
      // The fd is the file: /proc/self/fd/N leads to it.
      assert(await Deno.readLink(`/proc/self/fd/${fd}`) === path, "another file");
    } finally {
      ffi.wgl_fd_close(fd);
    }
    for (
      const [mode, what] of [[0o775, "group-writable"], [0o757, "world-writable"], [
        0o750,
        "not runnable by others",
      ]] as const
    ) {
      await Deno.chmod(path, mode);
      assert(open(path) === -EPERM, `${what}: ${open(path)}`);
    }
    await Deno.chmod(path, 0o755);
    await Deno.chown(path, 65534, 65534);
    assert(open(path) === -EPERM, "another user's file");
    await Deno.chown(path, 0, 0);
    await Deno.symlink(path, `${dir}/link`);
    assert(open(`${dir}/link`) === -ELOOP, "a symbolic link is not followed");
    await Deno.mkdir(`${dir}/sub`);
    assert(open(`${dir}/sub`) === -EPERM, "a directory");
    assert(open(`${dir}/gone`) < 0, "a missing file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
