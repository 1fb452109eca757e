import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { encodeQuery, parseAnswer, TYPE_A, TYPE_AAAA } from "./dns_query.ts";
import { buildResponse, parseQuery, Rcode } from "../../tests/services/dns_message.ts";

Deno.test("an A query for a name is answered with the responder's address", () => {
  const q = encodeQuery(0x1234, "db.tunnel.test", TYPE_A);
  const parsed = parseQuery(q);
  strictEqual(parsed.id, 0x1234);
  const reply = buildResponse(parsed, Rcode.NoError, [new Uint8Array([10, 99, 0, 7])]);
  const answer = parseAnswer(reply, 0x1234, "db.tunnel.test", TYPE_A);
  deepStrictEqual(answer, {
    kind: "addresses",
    addresses: [{ family: 4, bytes: new Uint8Array([10, 99, 0, 7]) }],
  });
});

Deno.test("an unknown name gives its rcode; another id or question is refused", () => {
  const q = encodeQuery(7, "nowhere.test", TYPE_AAAA);
  const reply = buildResponse(parseQuery(q), Rcode.NxDomain, []);
  deepStrictEqual(parseAnswer(reply, 7, "nowhere.test", TYPE_AAAA), { kind: "rcode", rcode: 3 });
  throws(() => parseAnswer(reply, 8, "nowhere.test", TYPE_AAAA), RangeError);
  throws(() => parseAnswer(reply, 7, "elsewhere.test", TYPE_AAAA), RangeError);
  throws(() => parseAnswer(q, 7, "nowhere.test", TYPE_AAAA), RangeError);
});

Deno.test("a truncated answer or a compression loop is refused, not followed", () => {
  const q = encodeQuery(9, "a.test", TYPE_A);
  const reply = buildResponse(parseQuery(q), Rcode.NoError, [new Uint8Array([10, 0, 0, 1])]);
  for (let cut = 0; cut < reply.length; cut++) {
    throws(() => parseAnswer(reply.subarray(0, cut), 9, "a.test", TYPE_A), RangeError);
  }
  const loop = new Uint8Array([...reply.subarray(0, 12), 0xc0, 12, 0, 1, 0, 1]);
  throws(() => parseAnswer(loop, 9, "a.test", TYPE_A), RangeError);
});

Deno.test("a name longer than DNS allows is refused before any query", () => {
  throws(() => encodeQuery(1, `${"a".repeat(64)}.test`, TYPE_A), TypeError);
  throws(() => encodeQuery(1, Array(60).fill("abcde").join("."), TYPE_A), TypeError);
});
