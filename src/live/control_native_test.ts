/**
 * Runs the native tests of the control socket's checks (launcher/control.c,
 * tested by launcher/test/control_test.c): the fds `wgcage exec` takes from
 * a keeper, the peer check by network and user namespace, and the keeper's
 * namespace fds of its cage. Builds them with the system `cc`, as build.ts
 * builds the launcher. The test's children make user namespaces, which an
 * unprivileged user may do where the kernel allows it (root always may).
 *
 * @module
 */

import { runNativeTest } from "../../testdata/native_unit.ts";

Deno.test("control.c: fds received as runc checks them, peers of another network namespace refused, the cage's namespace fds", async () => {
  await runNativeTest("control");
});
