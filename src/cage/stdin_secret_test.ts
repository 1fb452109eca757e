import { deepStrictEqual as assertEquals } from "node:assert";
import { type FileId, type StdinFs, stdinHoldsSecret } from "./stdin_secret.ts";

const file = (ino: number): FileId => ({ dev: 8, ino, isFile: true });

function fakeFs(stdin: FileId | undefined, paths: Record<string, FileId>, tty = false): StdinFs {
  return {
    stdinIsTerminal: () => tty,
    stdinId: () => stdin,
    pathId: (path) => paths[path],
  };
}

Deno.test("stdinHoldsSecret: a config read from stdin, whatever stdin is, but not a terminal", () => {
  assertEquals(stdinHoldsSecret(true, [], fakeFs({ dev: 0, ino: 5, isFile: false }, {})), true);
  assertEquals(stdinHoldsSecret(true, [], fakeFs(file(5), {})), true);
  assertEquals(stdinHoldsSecret(true, [], fakeFs(undefined, {}, true)), false);
});

Deno.test("stdinHoldsSecret: stdin open on a file a key was read from (/dev/stdin, or the same file)", () => {
  const paths = { "/dev/stdin": file(7), "/k/wg0.conf": file(7), "/k/other": file(9) };
  assertEquals(stdinHoldsSecret(false, ["/dev/stdin"], fakeFs(file(7), paths)), true);
  assertEquals(stdinHoldsSecret(false, ["/k/wg0.conf"], fakeFs(file(7), paths)), true);
  // Another file, the same inode number on another device, a pipe, a closed stdin.
  assertEquals(stdinHoldsSecret(false, ["/k/other"], fakeFs(file(7), paths)), false);
  assertEquals(
    stdinHoldsSecret(false, ["/k/wg0.conf"], fakeFs({ dev: 9, ino: 7, isFile: true }, paths)),
    false,
  );
  assertEquals(
    stdinHoldsSecret(false, ["/k/wg0.conf"], fakeFs({ dev: 8, ino: 7, isFile: false }, paths)),
    false,
  );
  assertEquals(stdinHoldsSecret(false, ["/k/wg0.conf"], fakeFs(undefined, paths)), false);
  assertEquals(stdinHoldsSecret(false, ["/gone"], fakeFs(file(7), paths)), false);
});
