import {
  ANCHOR,
  bytesPerSecondBetween,
  cpuSecondsPerGB,
  formatDetails,
  formatResult,
  formatTargets,
  INTEROP,
  medianRun,
  parseIperfJson,
  parseServerInterval,
  type RowSummary,
  SCENARIOS,
  type ThroughputResult,
  type TunnelFigures,
  WGCAGE_PAIR,
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

const wgGo = (label: string, cpuSeconds?: number, peakRssKiB?: number): TunnelFigures => ({
  label,
  kind: "wireguard-go",
  cpuSeconds,
  peakRssKiB,
});
const wgcage = (label: string, cpuSeconds?: number, peakRssKiB?: number): TunnelFigures => ({
  label,
  kind: "wgcage",
  cpuSeconds,
  peakRssKiB,
});

const run = (
  name: string,
  mbitPerSecond: number,
  tunnel: TunnelFigures[] = [],
  windowBytes?: number,
): ThroughputResult => ({ name, mbitPerSecond, retransmits: 0, windowBytes, tunnel });

const summary = (...runs: ThroughputResult[]): RowSummary => ({
  name: runs[0].name,
  median: medianRun(runs),
  runs,
});

Deno.test("the rows: the backports anchor first, Debian 12's pair, wgcage against each, wgcage's pair", () => {
  assertEquals(SCENARIOS.map((s) => s.name), [
    "wireguard-go/backports<->wireguard-go/backports",
    "wireguard-go/debian12<->wireguard-go/debian12",
    "wgcage<->wireguard-go/backports",
    "wgcage<->wireguard-go/debian12",
    "wgcage<->wgcage",
  ]);
  assertEquals([ANCHOR, INTEROP, WGCAGE_PAIR], [
    SCENARIOS[0].name,
    SCENARIOS[2].name,
    SCENARIOS[4].name,
  ]);
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

// What `iperf3 -s -1 --forceflush -f k` printed for a 5-second test (iperf3 3.12).
const SERVER_LINES = [
  "Accepted connection from 10.99.0.2, port 55546",
  "[  5] local 10.99.0.1 port 5201 connected to 10.99.0.2 port 55554",
  "[ ID] Interval           Transfer     Bitrate",
  "[  5]   0.00-1.00   sec  90.1 MBytes  755000 Kbits/sec                  ",
  "[  5]   1.00-2.00   sec   100 MBytes  800000 Kbits/sec                  ",
  "[  5]   2.00-3.00   sec   105 MBytes  880000 Kbits/sec                  ",
  "[  5]   3.00-4.00   sec   108 MBytes  900000 Kbits/sec                  ",
  "[  5]   4.00-5.00   sec   107 MBytes  899000 Kbits/sec                  ",
  "[  5]   5.00-5.04   sec  4.50 MBytes  940000 Kbits/sec                  ",
  "- - - - - - - - - - - - - - - - - - - - - - - - -",
  "[ ID] Interval           Transfer     Bitrate",
  "[  5]   0.00-5.04   sec   515 MBytes  857000 Kbits/sec                  receiver",
];

Deno.test("the server's interval lines are read, its summary and other lines are not", () => {
  assertEquals(parseServerInterval(SERVER_LINES[4]), {
    start: 1,
    end: 2,
    kbitPerSecond: 800000,
  });
  assertEquals(SERVER_LINES.map(parseServerInterval).filter((x) => x).length, 6);
});

Deno.test("the window's rate is the server's bitrate over the seconds inside it", () => {
  // 1.00-4.00: (800000 + 880000 + 900000) kbit over 3 s.
  const expected = (800000 + 880000 + 900000) * 1000 / 8 / 3;
  assertEquals(Math.round(bytesPerSecondBetween(SERVER_LINES, 1, 4)), Math.round(expected));
  assertThrows(() => bytesPerSecondBetween(SERVER_LINES, 7, 9), "from 7 s to 9 s");
});

Deno.test("a row prints as '<name>: <Mbit/s> Mbit/s', its median run's", () => {
  const row = summary(run(ANCHOR, 300), run(ANCHOR, 100), run(ANCHOR, 200));
  assertEquals(formatResult(row), `${ANCHOR}: 200 Mbit/s`);
});

Deno.test("CPU per GB adds up one kind's processes at both ends over the window's bytes", () => {
  const r = run(
    INTEROP,
    800,
    [wgGo("wireguard-go server", 0.5), wgcage("wgcage client", 1.5)],
    2e9,
  );
  assertEquals(cpuSecondsPerGB(r, "wgcage"), 0.75);
  assertEquals(cpuSecondsPerGB(r, "wireguard-go"), 0.25);
  assertEquals(
    cpuSecondsPerGB(run(INTEROP, 800, [wgcage("wgcage client", 1)]), "wgcage"),
    undefined,
  );
});

Deno.test("the details list every run, CPU per GB by kind and each process's highest peak RSS", () => {
  const row = summary(
    run(INTEROP, 800, [wgGo("wireguard-go server", 0.5, 20480), wgcage("wgcage client", 1.5)], 1e9),
    run(INTEROP, 820, [wgGo("wireguard-go server", 0.7, 10240), wgcage("wgcage client", 1.1)], 1e9),
  );
  assertEquals(
    formatDetails(row),
    "  runs 800, 820; retransmits 0; CPU s/GB: wgcage 1.10, wireguard-go 0.50; " +
      "peak RSS: wireguard-go server 20.0 MiB, wgcage client n/a",
  );
});

Deno.test("the targets: anchor version, ratios to the anchor, cpu_ratio and rss_mib", () => {
  const anchor = summary(
    run(ANCHOR, 2000, [wgGo("a", 1), wgGo("b", 1)], 1e9),
    run(ANCHOR, 2500, [wgGo("a", 0.5), wgGo("b", 0.5)], 1e9),
    run(ANCHOR, 2400, [wgGo("a", 2), wgGo("b", 2)], 1e9),
  );
  const pair = summary(
    run(WGCAGE_PAIR, 1000, [wgcage("s", 1, 60 * 1024), wgcage("c", 2, 50 * 1024)], 1e9),
  );
  const interop = summary(
    run(INTEROP, 600, [wgGo("s", 1), wgcage("c", 1, 70 * 1024)], 1e9),
  );
  assertEquals(formatTargets([anchor, interop, pair], "0.0.20231211-1~bpo12+1"), [
    "anchor=wireguard-go 0.0.20231211-1~bpo12+1",
    "throughput_ratio=0.42", // 1000 / 2400, the anchor's median run
    "interop_ratio=0.25",
    "cpu_ratio=1.50", // 3 s/GB ÷ the anchor's median 2 s/GB
    "rss_mib=70.0",
  ]);
  assertEquals(formatTargets([pair], "v"), ["rss_mib=60.0"]);
});

Deno.test("the median run is the middle one, the lower middle for an even count", () => {
  const runs = [run(ANCHOR, 300), run(ANCHOR, 100), run(ANCHOR, 200)];
  assertEquals(medianRun(runs).mbitPerSecond, 200);
  assertEquals(medianRun([run(ANCHOR, 300), run(ANCHOR, 100)]).mbitPerSecond, 100);
  assertThrows(() => medianRun([]), "no runs");
});
