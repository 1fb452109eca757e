import { ok as assert } from "node:assert/strict";
import { sleepMs } from "./sleep.ts";

Deno.test("sleepMs waits about as long as asked, without a timer", async () => {
  const t0 = performance.now();
  await sleepMs(60);
  const took = performance.now() - t0;
  assert(took >= 55, `woke after ${took} ms`);
  assert(took < 2000, `slept ${took} ms`);
  const t1 = performance.now();
  await sleepMs(0);
  assert(performance.now() - t1 < 1000, "a zero sleep returns at once");
});
