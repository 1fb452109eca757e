/**
 * Runs the native unit tests of the TUN offloads' packet logic
 * (launcher/offload.c, tested by launcher/test/offload_test.c): segmentation
 * of TSO/USO super-packets, partial checksums, and TCP and UDP coalescing, against
 * hand-built packets and a naive checksum. Builds them with the system `cc`,
 * as build.ts builds the launcher.
 *
 * @module
 */

import { runNativeTest } from "../../testdata/native_unit.ts";

Deno.test("offload.c: segmentation, checksums and coalescing pass their native tests", async () => {
  await runNativeTest("offload");
});
