import { strictEqual } from "node:assert";
import { NetlinkError, permissionHint } from "./error.ts";

Deno.test("NetlinkError is an Error with errno and a one-line message", () => {
  const error = new NetlinkError(1, {
    what: "add address fd00::2/64 to wg0",
    hint: permissionHint(1),
  });
  strictEqual(error instanceof Error, true);
  strictEqual(error.name, "NetlinkError");
  strictEqual(error.errno, 1);
  strictEqual(
    error.message,
    "Cannot add address fd00::2/64 to wg0: Operation not permitted (EPERM); the netlink socket is not in a network namespace wgcage owns",
  );
  strictEqual(error.message.includes("\n"), false);
});

Deno.test("NetlinkError without a hint ends after the error, and quotes the kernel's words", () => {
  strictEqual(
    new NetlinkError(105, { what: "list routes" }).message,
    "Cannot list routes: No buffer space available (ENOBUFS)",
  );
  strictEqual(
    new NetlinkError(22, { what: "x", kernelMessage: "Invalid prefix for given prefix length" })
      .message,
    'Cannot x: Invalid argument (EINVAL, kernel says "Invalid prefix for given prefix length")',
  );
  strictEqual(permissionHint(13), "the netlink socket is not in a network namespace wgcage owns");
  strictEqual(permissionHint(17), undefined);
});
