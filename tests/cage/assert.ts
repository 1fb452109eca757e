/**
 * The few assertions the cage tests use, on top of node:assert (built into
 * Deno; no network needed).
 *
 * @module
 */

import nodeAssert from "node:assert/strict";

/** Fails unless `cond` holds. */
export function assert(cond: unknown, message?: string): asserts cond {
  nodeAssert.ok(cond, message);
}

/** Deep equality. */
export function assertEquals<T>(actual: unknown, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** `text` matches `re`. */
export function assertMatch(text: string, re: RegExp, message?: string): void {
  nodeAssert.match(text, re, message);
}
