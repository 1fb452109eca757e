import { deepStrictEqual } from "node:assert";
import { hostSecretFileFs, secretFileCovers, type SecretFileFs } from "./secret_files.ts";

/** Regular files and symlinks (absolute targets), resolved the way the kernel does. */
function fakeFs(
  files: string[],
  links: Record<string, string>,
  cwd = "/home/u",
): SecretFileFs {
  /** The path with every symlink followed (missing parts kept as they are). */
  const canonical = (path: string): string => {
    const abs = path.startsWith("/") ? path : `${cwd}/${path}`;
    const parts = abs.split("/").filter((p) => p !== "");
    for (let i = 1; i <= parts.length; i++) {
      const target = links["/" + parts.slice(0, i).join("/")];
      if (target !== undefined) return canonical([target, ...parts.slice(i)].join("/"));
    }
    return abs;
  };
  return {
    realPath(path) {
      const real = canonical(path);
      return files.includes(real) ? real : undefined;
    },
    isRegularFile(path) {
      if (links[path] !== undefined) return false;
      const slash = path.lastIndexOf("/");
      return files.includes(`${canonical(path.slice(0, slash) || "/")}/${path.slice(slash + 1)}`);
    },
    cwd: () => cwd,
  };
}

Deno.test("secretFileCovers names a file by its path, made absolute", () => {
  const fs = fakeFs(["/home/u/wg.conf", "/etc/wg/k.key"], {});
  deepStrictEqual(secretFileCovers(["wg.conf", "/etc/wg/k.key"], fs), [
    "/home/u/wg.conf",
    "/etc/wg/k.key",
  ]);
});

Deno.test("secretFileCovers covers the file behind a symlink, not the symlink", () => {
  const fs = fakeFs(["/etc/wg/wg0.conf"], { "/home/u/wg.conf": "/etc/wg/wg0.conf" });
  deepStrictEqual(secretFileCovers(["wg.conf"], fs), ["/etc/wg/wg0.conf"]);
});

Deno.test("secretFileCovers covers a file reached through a symlinked directory by both paths", () => {
  const fs = fakeFs(["/srv/keys/k.key"], { "/home/u/keys": "/srv/keys" });
  deepStrictEqual(secretFileCovers(["keys/k.key"], fs), ["/srv/keys/k.key", "/home/u/keys/k.key"]);
});

Deno.test("secretFileCovers names each file once, and nothing for a missing path", () => {
  const fs = fakeFs(["/home/u/k.key"], {});
  deepStrictEqual(secretFileCovers(["k.key", "/home/u/k.key", "gone.key"], fs), ["/home/u/k.key"]);
});

Deno.test("hostSecretFileFs: a pipe or a device as the config leaves nothing to cover; a real file is covered", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "wgcage-secret-" }));
  try {
    await Deno.writeTextFile(`${dir}/wg.conf`, "x", { mode: 0o600 });
    await Deno.symlink(`${dir}/wg.conf`, `${dir}/link.conf`);
    deepStrictEqual(secretFileCovers([`${dir}/link.conf`]), [`${dir}/wg.conf`]);
    deepStrictEqual(secretFileCovers(["/dev/null"]), []);
    const fifo = await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    deepStrictEqual(fifo.success, true);
    deepStrictEqual(secretFileCovers([`${dir}/fifo`]), []);
    deepStrictEqual(hostSecretFileFs.isRegularFile(`${dir}/link.conf`), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("secretFileCovers looks at a path that is its own resolved path once", () => {
  const fs = fakeFs(["/etc/wg/wg0.conf"], {});
  const looked: string[] = [];
  const counting: SecretFileFs = {
    ...fs,
    isRegularFile: (path) => (looked.push(path), fs.isRegularFile(path)),
  };
  deepStrictEqual(secretFileCovers(["/etc/wg/wg0.conf"], counting), ["/etc/wg/wg0.conf"]);
  deepStrictEqual(looked, ["/etc/wg/wg0.conf"]);
});
