import { assertCommandExists } from "./command_lookup.ts";

Deno.test("a command on PATH or given by path is found; a missing one fails with 127 and one line", () => {
  assertCommandExists("sh", "/nonexistent:/bin:/usr/bin");
  assertCommandExists("/bin/sh", "");
  for (const missing of ["no-such-command-wgcage", "/no/such/file"]) {
    let error: unknown;
    try {
      assertCommandExists(missing, "/bin:/usr/bin");
    } catch (e) {
      error = e;
    }
    const e = error as { exitCode?: number; message?: string };
    if (e?.exitCode !== 127) throw new Error(`${missing}: expected exit 127, got ${e?.exitCode}`);
    if (e.message !== `wgcage: Cannot run '${missing}': command not found`) {
      throw new Error(`message: ${e.message}`);
    }
  }
});
