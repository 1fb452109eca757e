import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { parseKey, sameKey } from "./key.ts";

const KEY = "IMGyfWxyOFd5vribqxh4YSEY0RjR5KvL1Vtf9PTiwkE=";

Deno.test("parseKey decodes 44 characters of base64 into 32 bytes", () => {
  const key = parseKey(KEY, false);
  strictEqual(key.bytes.length, 32);
  strictEqual(key.toString(), KEY);
  deepStrictEqual(
    parseKey("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", false).bytes,
    new Uint8Array(32),
  );
});

Deno.test("parseKey marks secret keys so they print redacted", () => {
  const key = parseKey(KEY, true);
  strictEqual(key.toString(), "<redacted>");
  strictEqual(Deno.inspect(key).includes(KEY), false);
});

Deno.test("parseKey refuses wrong lengths, missing padding, foreign alphabets and non-canonical ends", () => {
  const cases = [
    KEY.slice(0, 43),
    KEY + "=",
    KEY.slice(0, 43) + "A",
    "-" + KEY.slice(1),
    "_" + KEY.slice(1),
    KEY.slice(0, 42) + "F=",
    "",
    " " + KEY.slice(1),
  ];
  for (const text of cases) {
    throws(() => parseKey(text, true), (error: Error) => {
      return error instanceof TypeError && !error.message.includes(text || "\0");
    }, text);
  }
});

Deno.test("sameKey compares bytes", () => {
  strictEqual(sameKey(parseKey(KEY, false), parseKey(KEY, true)), true);
  strictEqual(
    sameKey(parseKey(KEY, false), parseKey("WLBgRfhkm5RRLUKzqZn6H5Iaojwov27AJdgR1sBO1k4=", false)),
    false,
  );
});
