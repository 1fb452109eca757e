import { interleavedPairs, relayOptions, showRuns } from "./_relay.ts";

function assertEquals<T>(actual: T, expected: T): void {
  const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
  if (a !== e) throw new Error(`expected ${e}, got ${a}`);
}

Deno.test("interleavedPairs: each side goes first in turn, results kept per side in order", async () => {
  const order: string[] = [];
  let n = 0;
  const side = (name: string) => () => {
    order.push(name);
    return Promise.resolve(n++);
  };
  const [as, bs] = await interleavedPairs(3, side("a"), side("b"));
  assertEquals(order, ["a", "b", "b", "a", "a", "b"]);
  assertEquals(as, [0, 3, 4]);
  assertEquals(bs, [1, 2, 5]);
});

Deno.test("relayOptions: defaults, the bench's own --startup-runs default, and given values", () => {
  assertEquals(relayOptions([], 30), { seconds: 5, runs: 3, startupRuns: 30 });
  assertEquals(
    relayOptions(["--seconds", "2", "--runs", "7", "--startup-runs", "4"], 10),
    { seconds: 2, runs: 7, startupRuns: 4 },
  );
  assertEquals(showRuns([1, 2.345]), "1.00, 2.35");
});
