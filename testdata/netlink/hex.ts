/**
 * Small helpers for the netlink tests.
 *
 * @module
 */

import { decodeMessages, type NetlinkMessage } from "../../src/netlink/message.ts";
import { fromHex } from "./kernel_replies.ts";

/** Bytes as lowercase hex with a space every 4 bytes, for readable diffs. */
export function hex(bytes: Uint8Array): string {
  const digits = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0"));
  const words: string[] = [];
  for (let i = 0; i < digits.length; i += 4) words.push(digits.slice(i, i + 4).join(""));
  return words.join(" ");
}

/** Parses hex written with any spacing. */
export function bytesOf(spaced: string): Uint8Array {
  return fromHex(spaced.replace(/\s+/g, ""));
}

/** Every message of a captured conversation, in order. */
export function capturedMessages(datagrams: readonly string[]): NetlinkMessage[] {
  return datagrams.flatMap((datagram) => decodeMessages(fromHex(datagram)));
}
