import nodeAssert from "node:assert/strict";
import { forwardSignals, signalNumber } from "./signals.ts";

Deno.test("signalNumber knows Linux's numbers and refuses nonsense", () => {
  nodeAssert.equal(signalNumber("SIGTERM"), 15);
  nodeAssert.equal(signalNumber("SIGINT"), 2);
  nodeAssert.equal(signalNumber("SIGWINCH"), 28);
  nodeAssert.equal(signalNumber(9), 9);
  nodeAssert.throws(() => signalNumber(-1), RangeError);
  nodeAssert.throws(() => signalNumber(1.5), RangeError);
});

Deno.test("forwardSignals passes signals wgcage receives to the cage until removed", async () => {
  const got: (string | number)[] = [];
  const stop = forwardSignals({ signal: (sig) => got.push(sig) });
  try {
    Deno.kill(Deno.pid, "SIGUSR1");
    Deno.kill(Deno.pid, "SIGWINCH");
    const end = Date.now() + 2000;
    while (got.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    nodeAssert.deepEqual(got.sort(), ["SIGUSR1", "SIGWINCH"]);
  } finally {
    stop();
  }
  // After removal our own listener sees the signal, the cage does not.
  let seen = false;
  const mine = () => seen = true;
  Deno.addSignalListener("SIGUSR1", mine);
  try {
    Deno.kill(Deno.pid, "SIGUSR1");
    const end = Date.now() + 2000;
    while (!seen && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    nodeAssert.ok(seen);
    nodeAssert.equal(got.length, 2);
  } finally {
    Deno.removeSignalListener("SIGUSR1", mine);
  }
});
