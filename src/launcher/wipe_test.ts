import { launcher, prepareLauncher } from "./library.ts";
import { wipeResidentPages } from "./wipe.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function firstNonZero(bytes: Uint8Array): number {
  return bytes.findIndex((b) => b !== 0);
}

Deno.test("the resident-page wipe zeroes every written byte of a 5 MiB core memory and only touches written pages", async () => {
  await prepareLauncher();
  const memory = new WebAssembly.Memory({ initial: 80 });
  const bytes = new Uint8Array(memory.buffer);
  const written = [0, 4095, 4096, 70_000, 1_000_000, 3_333_333, bytes.length - 1];
  for (const at of written) bytes[at] = 0xa5;
  bytes.fill(0x5a, 2_000_000, 2_000_000 + 9000); // across page boundaries

  const pages = launcher().wgl_wipe_resident(bytes, BigInt(bytes.length));
  assert(firstNonZero(bytes) === -1, `byte ${firstNonZero(bytes)} survived the wipe`);
  // 7 single bytes on 6 distinct pages and 9000 bytes over 3 or 4: not the 1280 pages of the memory.
  assert(pages >= 9 && pages <= 12, `wiped ${pages} pages`);
});

Deno.test("the resident-page wipe stays inside an unaligned range", async () => {
  await prepareLauncher();
  const bytes = new Uint8Array(new WebAssembly.Memory({ initial: 1 }).buffer);
  bytes.fill(1);
  wipeResidentPages(bytes.subarray(100, 9000));
  assert(bytes.subarray(0, 100).every((b) => b === 1), "bytes before the range were zeroed");
  assert(firstNonZero(bytes.subarray(100, 9000)) === -1, "a byte inside the range survived");
  assert(bytes.subarray(9000).every((b) => b === 1), "bytes after the range were zeroed");
});
