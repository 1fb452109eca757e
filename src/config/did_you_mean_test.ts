import { strictEqual } from "node:assert";
import { closestMatch, editDistance } from "./did_you_mean.ts";

Deno.test("editDistance counts edits case-insensitively, a swap as one", () => {
  strictEqual(editDistance("AllowedIP", "AllowedIPs"), 1);
  strictEqual(editDistance("endpiont", "endpoint"), 1);
  strictEqual(editDistance("MTU", "mtu"), 0);
  strictEqual(editDistance("", "abc"), 3);
});

Deno.test("closestMatch suggests only likely typos", () => {
  strictEqual(closestMatch("AllowedIP", ["PublicKey", "AllowedIPs"]), "AllowedIPs");
  strictEqual(closestMatch("Colour", ["PublicKey", "AllowedIPs"]), undefined);
  strictEqual(closestMatch("mtus", ["MTU", "DNS"]), "MTU");
  strictEqual(closestMatch("abcd", ["MTU", "DNS"]), undefined);
});
