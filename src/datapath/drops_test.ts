import { deepStrictEqual } from "node:assert";
import { DropCounts, REASON_NAMES } from "./drops.ts";
import { DESC_REASON, DESC_WORDS, Reason } from "../wg/abi.ts";

function batch(reasons: number[]): Uint32Array {
  const desc = new Uint32Array(reasons.length * DESC_WORDS);
  reasons.forEach((r, i) => desc[i * DESC_WORDS + DESC_REASON] = r);
  return desc;
}

Deno.test("DropCounts counts every reason that is a drop, and none of those that are not", () => {
  const drops = new DropCounts();
  drops.count(
    batch([
      Reason.Ok,
      Reason.Staged,
      Reason.Keepalive,
      Reason.HandshakeConsumed,
      Reason.CookieConsumed,
      Reason.Replay,
      Reason.DecryptFailed,
      Reason.Replay,
      Reason.SourceNotAllowed,
      Reason.NoRoute,
      99,
    ]),
    11,
  );
  deepStrictEqual(drops.byReason(), {
    replay: 2,
    decrypt_failed: 1,
    source_not_allowed: 1,
    no_route: 1,
    unknown: 1,
  });
});

Deno.test("DropCounts reads only the first n descriptors and adds up over batches", () => {
  const drops = new DropCounts();
  const desc = batch([Reason.BadMac1, Reason.BadMac1, Reason.TooBig]);
  drops.count(desc, 2);
  drops.count(desc, 3);
  deepStrictEqual(drops.byReason(), { bad_mac1: 4, too_big: 1 });
});

Deno.test("REASON_NAMES names every Reason in snake case", () => {
  deepStrictEqual(REASON_NAMES.length, Object.keys(Reason).length);
  deepStrictEqual(REASON_NAMES[Reason.UnknownIndex], "unknown_index");
  deepStrictEqual(REASON_NAMES[Reason.NoEndpoint], "no_endpoint");
});
