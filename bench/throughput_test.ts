import {
  ANCHOR,
  formatResult,
  formatThroughputRatio,
  medianRun,
  parseIperfJson,
  type ThroughputResult,
} from "./throughput.ts";

function assertEquals<T>(actual: T, expected: T): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

function assertThrows(f: () => unknown, includes: string): void {
  try {
    f();
  } catch (e) {
    if (e instanceof Error && e.message.includes(includes)) return;
    throw new Error(`threw the wrong error: ${e}`);
  }
  throw new Error("did not throw");
}

const row = (name: string, mbitPerSecond: number): ThroughputResult => ({
  name,
  mbitPerSecond,
  retransmits: 0,
  peakRssKiB: {},
});

Deno.test("iperf3 JSON gives received Mbit/s and sender retransmissions", () => {
  const json = JSON.stringify({
    end: {
      sum_sent: { bits_per_second: 310_000_000, retransmits: 42 },
      sum_received: { bits_per_second: 305_240_000 },
    },
  });
  assertEquals(parseIperfJson(json), { mbitPerSecond: 305.2, retransmits: 42 });
});

Deno.test("iperf3 errors and non-JSON output are reported, not read as zero", () => {
  assertThrows(() => parseIperfJson('{"error":"unable to connect"}'), "unable to connect");
  assertThrows(() => parseIperfJson("iperf3: error"), "Cannot parse iperf3 output");
  assertThrows(() => parseIperfJson("{}"), "end.sum_received");
});

Deno.test("a row prints as '<name>: <Mbit/s> Mbit/s'", () => {
  assertEquals(formatResult(row(ANCHOR, 305.2)), "wireguard-go<->wireguard-go: 305.2 Mbit/s");
});

Deno.test("the throughput ratio divides the wgcage row by the anchor and needs both", () => {
  const results = [row(ANCHOR, 300), row("wgcage<->wgcage", 150)];
  assertEquals(formatThroughputRatio(results), "throughput_ratio=0.50");
  assertThrows(() => formatThroughputRatio([row(ANCHOR, 300)]), "wgcage<->wgcage");
});

Deno.test("the median run is the middle one, the lower middle for an even count", () => {
  const runs = [row(ANCHOR, 300), row(ANCHOR, 100), row(ANCHOR, 200)];
  assertEquals(medianRun(runs).mbitPerSecond, 200);
  assertEquals(medianRun([row(ANCHOR, 300), row(ANCHOR, 100)]).mbitPerSecond, 100);
  assertThrows(() => medianRun([]), "no runs");
});
