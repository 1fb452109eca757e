import nodeAssert from "node:assert/strict";
import { prepareLauncher } from "../launcher/library.ts";
import { forwardSignals, signalNumber } from "./signals.ts";

Deno.test("signalNumber knows Linux's numbers and refuses nonsense", () => {
  nodeAssert.equal(signalNumber("SIGTERM"), 15);
  nodeAssert.equal(signalNumber("SIGINT"), 2);
  nodeAssert.equal(signalNumber("SIGWINCH"), 28);
  nodeAssert.equal(signalNumber(9), 9);
  nodeAssert.throws(() => signalNumber(-1), RangeError);
  nodeAssert.throws(() => signalNumber(1.5), RangeError);
});

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 3000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("forwardSignals passes signals to the cage, SIGUSR1 natively to its pid, until removed", async () => {
  await prepareLauncher();
  // A stand-in for the cage's init that says when it gets SIGUSR1.
  const init = new Deno.Command("sh", {
    args: ["-c", "trap 'echo usr1' USR1; echo ready; while :; do sleep 0.02; done"],
    stdin: "null",
    stdout: "piped",
  }).spawn();
  let out = "";
  const reading = init.stdout.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (out += chunk) }),
  );
  const usr1s = () => out.split("\n").filter((l) => l === "usr1").length;
  try {
    await until(() => out.includes("ready"), "the stand-in is ready");
    const got: (string | number)[] = [];
    const stop = forwardSignals({ pid: init.pid, signal: (sig) => got.push(sig) });
    try {
      Deno.kill(Deno.pid, "SIGUSR1");
      Deno.kill(Deno.pid, "SIGWINCH");
      await until(() => usr1s() === 1 && got.length === 1, "both signals are forwarded");
      nodeAssert.deepEqual(got, ["SIGWINCH"]);
    } finally {
      stop();
    }
    // After removal neither reaches the cage, and SIGUSR1 is dropped: this
    // process lives on.
    Deno.kill(Deno.pid, "SIGUSR1");
    Deno.kill(Deno.pid, "SIGWINCH");
    await new Promise((r) => setTimeout(r, 200));
    nodeAssert.equal(usr1s(), 1);
    nodeAssert.deepEqual(got, ["SIGWINCH"]);
  } finally {
    init.kill("SIGKILL");
    await init.status;
    await reading;
  }
});
