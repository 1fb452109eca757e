/**
 * Runs the native unit tests of the TUN offloads' packet logic
 * (launcher/offload.c, tested by launcher/test/offload_test.c): segmentation
 * of TSO/USO super-packets, partial checksums, and TCP and UDP coalescing, against
 * hand-built packets and a naive checksum. Builds them with the system `cc`,
 * as build.ts builds the launcher.
 *
 * @module
 */

const root = new URL("../../", import.meta.url);
const path = (rel: string) => new URL(rel, root).pathname;

Deno.test("offload.c: segmentation, checksums and coalescing pass their native tests", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wgcage-offload-test-" });
  try {
    const exe = `${dir}/offload_test`;
    const cc = new Deno.Command(Deno.env.get("CC") ?? "cc", {
      args: [
        "-std=c11",
        "-O2",
        "-D_GNU_SOURCE",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-fsanitize=address,undefined",
        "-fno-sanitize-recover=all",
        `-I${path("launcher")}`,
        path("launcher/offload.c"),
        path("launcher/test/offload_test.c"),
        "-o",
        exe,
      ],
    });
    const built = await cc.output();
    const err = new TextDecoder().decode(built.stderr);
    if (!built.success) throw new Error(`Cannot build offload_test: ${err}`);
    const run = await new Deno.Command(exe).output();
    const out = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
    if (!run.success) throw new Error(`offload_test failed:\n${out}`);
    if (!/ 0 failed/.test(out)) throw new Error(`offload_test said: ${out}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
