/**
 * `wgcage -v` says where its start-up went: one line for each phase of
 * src/startup_breakdown.ts, each once and in order, with its span in ms from
 * the process's start. Timing itself is bench/startup.ts's business; this
 * checks the lines and that their spans are consistent.
 *
 * Needs root (a namespace for the test's wireguard-go peer) and wireguard-go.
 *
 * @module
 */

import { Lab, requireRoot, requireTool } from "./harness/netns.ts";
import { loopbackPeer, runWgcage } from "./e2e/wgcage.ts";
import { PHASES, startTicks } from "../src/startup_breakdown.ts";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** The `start-up: PHASE: …` lines of a `-v` run's stderr, in the order printed. */
function breakdown(stderr: string): { phase: string; took: number; from: number; to: number }[] {
  return [...stderr.matchAll(/start-up: ([^:\n]+): ([\d.]+) ms \(([\d.]+)–([\d.]+)/g)].map((m) => ({
    phase: m[1],
    took: Number(m[2]),
    from: Number(m[3]),
    to: Number(m[4]),
  }));
}

Deno.test("-v prints each start-up phase once, in order, from the process's start to the command's exec", async () => {
  requireRoot("The start-up breakdown test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("brk");
    const { config } = await loopbackPeer(lab, ns);
    const r = await runWgcage(lab, { ns, args: ["-v", "--config", config, "--", "true"] });
    assert(r.code === 0, `wgcage exited ${r.code}: ${r.stderr}`);
    const lines = breakdown(r.stderr);
    const phases = lines.map((l) => l.phase);
    assert(
      JSON.stringify(phases) === JSON.stringify(PHASES),
      `phases ${JSON.stringify(phases)} in: ${r.stderr}`,
    );
    const at = (phase: string) => lines.find((l) => l.phase === phase)!;
    for (const l of lines) {
      assert(l.to >= l.from, `${l.phase} ends before it begins: ${r.stderr}`);
      assert(Math.abs(l.to - l.from - l.took) < 0.15, `${l.phase}: span and duration differ`);
    }
    // The main thread's phases follow one another; Deno's start is from 0.
    assert(at("Deno start").from === 0, `Deno start is not from 0: ${r.stderr}`);
    assert(
      at("module load").from === at("Deno start").to,
      "module load does not follow Deno start",
    );
    const sequence = [
      "module load",
      "launcher and arguments",
      "config read",
      "core instance and self test",
      "keys, peers and UDP socket",
      "data path start",
      "the command's exec",
    ];
    for (let i = 1; i < sequence.length; i++) {
      assert(
        at(sequence[i]).from >= at(sequence[i - 1]).to,
        `${sequence[i]} begins before ${sequence[i - 1]} ends: ${r.stderr}`,
      );
    }
    // The cage is cloned once the config is read and sets itself up while the
    // core, the keys and the UDP socket come up; its links are configured as
    // soon as it sends the TUN, while the main thread waits for the core if it
    // still does, and before the data path starts.
    const clone = at("clone and namespaces");
    const links = at("TUN and netlink");
    const keys = at("keys, peers and UDP socket");
    assert(clone.from >= at("config read").to, `the cage before the config: ${r.stderr}`);
    assert(clone.to <= links.from, `the TUN before the cage: ${r.stderr}`);
    assert(links.to <= at("data path start").from, `the data path before the links: ${r.stderr}`);
    assert(links.to <= keys.from || links.from >= keys.to, `links amid the keys: ${r.stderr}`);
    // The handshake is sent once the keys are set, and completed before the command ran.
    assert(at("first handshake").from >= keys.to, `the handshake before the keys: ${r.stderr}`);
    assert(at("first handshake").to <= at("the command's exec").from, "command before handshake");
    const total = /start-up: total: ([\d.]+) ms to now/.exec(r.stderr);
    assert(total && Number(total[1]) >= at("the command's exec").to, `no total: ${r.stderr}`);
  } finally {
    await lab.close();
  }
});

Deno.test("a run without -v prints no breakdown", async () => {
  requireRoot("The start-up breakdown test");
  await requireTool("wireguard-go", "wireguard-go");
  const lab = await Lab.open();
  try {
    const ns = await lab.namespace("brq");
    const { config } = await loopbackPeer(lab, ns);
    const r = await runWgcage(lab, { ns, args: ["--config", config, "--", "true"] });
    assert(r.code === 0, `wgcage exited ${r.code}: ${r.stderr}`);
    assert(!r.stderr.includes("start-up:"), `breakdown without -v: ${r.stderr}`);
  } finally {
    await lab.close();
  }
});

Deno.test("the start time is field 22 of /proc/PID/stat, whatever the command's name holds", () => {
  const fields = (name: string, start: number) =>
    `4242 (${name}) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 ${start} 1000 10`;
  assert(startTicks(fields("deno", 123456)) === 123456, "plain name");
  assert(startTicks(fields("a) b (c", 98765)) === 98765, "a name with ') ' in it");
  assert(startTicks(Deno.readTextFileSync("/proc/self/stat")) > 0, "this process");
  let threw = false;
  try {
    startTicks("4242 (x) S 1");
  } catch {
    threw = true;
  }
  assert(threw, "a short stat is refused");
});
