/**
 * Test program: claims SIGUSR1 as wgcage's `main` does, but late — past the
 * 500 ms after which `deno run` answers SIGUSR1 with a debugger — once it
 * gets SIGUSR2. Prints `past grace` when the test may send signals,
 * `claimed` after the claim, then waits to be killed; a refusal's message
 * goes to stderr and its status is the exit status.
 *
 *     deno run -A tests/sigusr1/late_claim.ts
 *
 * @module
 */

import { claimSigusr1 } from "../../src/cage/signals.ts";
import { CageError } from "../../src/cage/error.ts";

const go = new Promise<void>((resolve) => Deno.addSignalListener("SIGUSR2", () => resolve()));
await new Promise((r) => setTimeout(r, 1000));
console.log("past grace");
await go;
try {
  await claimSigusr1();
} catch (e) {
  if (!(e instanceof CageError)) throw e;
  console.error(e.message);
  Deno.exit(e.exitCode);
}
console.log("claimed");
setInterval(() => {}, 1000);
