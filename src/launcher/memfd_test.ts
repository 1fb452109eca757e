import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { closeMemfd, memfdHolding } from "./memfd.ts";

Deno.test("memfdHolding holds the bytes under its name; sealed, they cannot change", () => {
  const bytes = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]);
  const open = memfdHolding("wgcage-test", bytes);
  const sealed = memfdHolding("wgcage-test-sealed", bytes, true);
  try {
    for (const fd of [open, sealed]) {
      deepStrictEqual(Deno.readFileSync(`/proc/self/fd/${fd}`), bytes);
      strictEqual(Deno.readLinkSync(`/proc/self/fd/${fd}`).startsWith("/memfd:wgcage-test"), true);
    }
    Deno.writeFileSync(`/proc/self/fd/${open}`, new Uint8Array([1]));
    strictEqual(Deno.readFileSync(`/proc/self/fd/${open}`).length, 1);
    throws(() => Deno.writeFileSync(`/proc/self/fd/${sealed}`, new Uint8Array([1])));
    deepStrictEqual(Deno.readFileSync(`/proc/self/fd/${sealed}`), bytes);
  } finally {
    closeMemfd(open);
    closeMemfd(sealed);
  }
});
