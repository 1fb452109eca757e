import { strictEqual } from "node:assert";
import { describeErrno, errnoDescription, errnoName } from "./errno.ts";

Deno.test("errno names and descriptions follow Linux and glibc, with a fallback for unknown values", () => {
  strictEqual(errnoName(17), "EEXIST");
  strictEqual(errnoDescription(17), "File exists");
  strictEqual(errnoName(1), "EPERM");
  strictEqual(errnoDescription(13), "Permission denied");
  strictEqual(errnoName(100), "ENETDOWN");
  strictEqual(errnoName(9999), "errno 9999");
  strictEqual(errnoDescription(9999), "Unknown error");
});

Deno.test("describeErrno is the description in lower case, to follow a colon", () => {
  strictEqual(describeErrno(13), "permission denied");
  strictEqual(describeErrno(5), "input/output error");
  strictEqual(describeErrno(98), "address already in use");
  strictEqual(describeErrno(9999), "errno 9999");
});
