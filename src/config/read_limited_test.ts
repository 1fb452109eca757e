import { deepStrictEqual, rejects, strictEqual } from "node:assert";
import { readAtMost, readFileAtMost } from "./read_limited.ts";

Deno.test("readFileAtMost stops at the limit on an endless file", async () => {
  const bytes = await readFileAtMost("/dev/zero", 1024 * 1024 + 1);
  strictEqual(bytes.length, 1024 * 1024 + 1);
});

Deno.test("readFileAtMost reads a small file whole and refuses a directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wgcage-read-" });
  try {
    await Deno.writeTextFile(`${dir}/small`, "[Interface]\n");
    deepStrictEqual(
      new TextDecoder().decode(await readFileAtMost(`${dir}/small`, 100)),
      "[Interface]\n",
    );
    strictEqual((await readFileAtMost(`${dir}/small`, 4)).length, 4);
    await rejects(readFileAtMost(dir, 100), Deno.errors.IsADirectory);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readFileAtMost stops at the limit on a FIFO whose writer goes on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wgcage-read-" });
  try {
    const fifo = `${dir}/fifo`;
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    strictEqual(made.success, true);
    // A writer of 8 MiB that ends when the reader has gone.
    const writer = new Deno.Command("sh", {
      args: ["-c", `head -c 8388608 /dev/zero > ${fifo} 2>/dev/null; true`],
    }).spawn();
    const bytes = await readFileAtMost(fifo, 65537);
    strictEqual(bytes.length, 65537);
    await writer.status;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readAtMost gathers short reads and stops at the end", async () => {
  const chunks = [new Uint8Array([1, 2]), new Uint8Array([3]), new Uint8Array([4, 5, 6])];
  const reader = {
    read(buffer: Uint8Array): Promise<number | null> {
      const chunk = chunks.shift();
      if (chunk === undefined) return Promise.resolve(null);
      buffer.set(chunk.subarray(0, buffer.length));
      return Promise.resolve(Math.min(chunk.length, buffer.length));
    },
  };
  deepStrictEqual([...await readAtMost(reader, 100)], [1, 2, 3, 4, 5, 6]);
});
