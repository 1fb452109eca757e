import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { parseSocksAuth, readSocksAuth } from "./socks_auth.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("a login file's first line is USERNAME:PASSWORD; the password may hold ':'", () => {
  deepStrictEqual(parseSocksAuth(enc("alice:s3:cr3t\r\nignored\n")), {
    username: enc("alice"),
    password: enc("s3:cr3t"),
  });
  throws(() => parseSocksAuth(enc("alice\n")), /not USERNAME:PASSWORD/);
  throws(() => parseSocksAuth(enc(":pw")), /1-255 bytes/);
  throws(() => parseSocksAuth(enc(`a:${"p".repeat(256)}`)), /1-255 bytes/);
});

Deno.test("a login file that cannot be used is one line that quotes nothing of it", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/login`;
    Deno.writeTextFileSync(path, "alice-hunter2-no-colon\n", { mode: 0o600 });
    throws(
      () => readSocksAuth(path, () => {}),
      (e: Error) => {
        strictEqual(e.message.includes("hunter2"), false);
        strictEqual((e as Error & { exitCode: number }).exitCode, 125);
        return /Cannot use --socks-auth '.*': its first line is not USERNAME:PASSWORD/.test(
          e.message,
        );
      },
    );
    throws(() => readSocksAuth(`${dir}/none`, () => {}), /no such file/);
    Deno.writeTextFileSync(path, "alice:hunter2\n");
    Deno.chmodSync(path, 0o644);
    const warnings: string[] = [];
    readSocksAuth(path, (w) => warnings.push(w));
    strictEqual(warnings.length, 1);
    strictEqual(/accessible by other users \(mode 0644\)/.test(warnings[0]), true);
    strictEqual(warnings[0].includes("hunter2"), false);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
