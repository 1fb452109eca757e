import { strictEqual, throws } from "node:assert";
import { readHostResolvConf } from "./read_host_resolv_conf.ts";

async function withTempDir(body: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "wgcage-dns-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("readHostResolvConf returns the file's text", async () => {
  await withTempDir((dir) => {
    Deno.writeTextFileSync(`${dir}/resolv.conf`, "nameserver 10.1.1.1\n");
    strictEqual(readHostResolvConf(`${dir}/resolv.conf`), "nameserver 10.1.1.1\n");
  });
});

Deno.test("readHostResolvConf returns undefined for a missing file and a dangling symlink", async () => {
  await withTempDir((dir) => {
    strictEqual(readHostResolvConf(`${dir}/missing`), undefined);
    Deno.symlinkSync(`${dir}/stub-resolv.conf`, `${dir}/resolv.conf`);
    strictEqual(readHostResolvConf(`${dir}/resolv.conf`), undefined);
  });
});

Deno.test("readHostResolvConf follows a symlink whose target exists", async () => {
  await withTempDir((dir) => {
    Deno.writeTextFileSync(`${dir}/stub-resolv.conf`, "nameserver 127.0.0.53\n");
    Deno.symlinkSync(`${dir}/stub-resolv.conf`, `${dir}/resolv.conf`);
    strictEqual(readHostResolvConf(`${dir}/resolv.conf`), "nameserver 127.0.0.53\n");
  });
});

Deno.test("readHostResolvConf reports other failures in one line", async () => {
  await withTempDir((dir) => {
    throws(() => readHostResolvConf(dir), (error: unknown) => {
      const message = (error as Error).message;
      strictEqual(message.startsWith(`Cannot read ${dir}: `), true, message);
      strictEqual(message.includes("\n"), false);
      return true;
    });
  });
});
