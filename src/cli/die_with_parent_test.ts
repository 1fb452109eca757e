import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { DieWithParentError, parseDieWithParent } from "./die_with_parent.ts";
import { processStartTime } from "../live/state.ts";

Deno.test("WGCAGE_DIE_WITH_PARENT names the parent, then ancestors; 0 turns it off", () => {
  deepStrictEqual(parseDieWithParent("4242"), { parent: 4242, ancestors: [] });
  deepStrictEqual(parseDieWithParent("4242 17"), { parent: 4242, ancestors: [17] });
  strictEqual(parseDieWithParent("0"), undefined);
  for (const bad of ["", "abc", "12 x", "-3", "1.5", "0 12", "12;rm"]) {
    throws(() => parseDieWithParent(bad), (e) => e instanceof DieWithParentError, bad);
  }
});

Deno.test("a process's start time tells it from a later one under the same pid", () => {
  // The watch compares what processStartTime says of each ancestor.
  const mine = processStartTime(Deno.pid);
  strictEqual(typeof mine, "number");
  strictEqual(mine, processStartTime(Deno.pid));
  // pid_max is at most 2^22: no process has this pid.
  strictEqual(processStartTime(2 ** 22 + 1), undefined);
});
