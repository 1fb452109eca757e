import { strictEqual } from "node:assert";
import { errnoDescription, errnoName } from "../launcher/errno.ts";
import { NetlinkError, permissionHint } from "./error.ts";

Deno.test("errno names and descriptions follow Linux and glibc, with a fallback for unknown values", () => {
  strictEqual(errnoName(17), "EEXIST");
  strictEqual(errnoDescription(17), "File exists");
  strictEqual(errnoName(1), "EPERM");
  strictEqual(errnoDescription(13), "Permission denied");
  strictEqual(errnoName(100), "ENETDOWN");
  strictEqual(errnoName(9999), "errno 9999");
  strictEqual(errnoDescription(9999), "Unknown error");
});

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
