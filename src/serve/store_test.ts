import { strictEqual } from "node:assert/strict";
import { ClientStore, ensurePrivateDir } from "./store.ts";
import { ServeError } from "./error.ts";

/** The one line a failure prints, and that it is wgcage's own (125). */
function failureOf(action: () => unknown): { message: string; code: number | undefined } {
  try {
    action();
  } catch (e) {
    if (!(e instanceof ServeError)) throw e;
    return { message: e.message, code: e.exitCode };
  }
  throw new Error("did not fail");
}

Deno.test("a state directory that cannot be made is one line with the fix, 125", () => {
  const file = Deno.makeTempFileSync();
  try {
    const { message, code } = failureOf(() => ensurePrivateDir(`${file}/state`));
    strictEqual(code, 125);
    strictEqual(message.includes("\n"), false);
    strictEqual(
      message.startsWith(`wgcage: Cannot make the state directory ${file}/state: `),
      true,
    );
    strictEqual(message.endsWith("; check its parent directory"), true);
  } finally {
    Deno.removeSync(file);
  }
});

Deno.test("a clients.json that cannot be read is one line with the fix, 125", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${dir}/clients.json`);
    const { message, code } = failureOf(() => ClientStore.open(dir));
    strictEqual(code, 125);
    strictEqual(message.includes("\n"), false);
    strictEqual(message.endsWith("; make it readable by you"), true);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
