/**
 * Hex for the netlink tests: requests and replies written and compared as
 * readable hex, and the messages of a captured conversation.
 *
 * @module
 */

import { decodeMessages, type NetlinkMessage } from "../../src/netlink/message.ts";

/** Bytes as lowercase hex with a space every 4 bytes, for readable diffs. */
export function hex(bytes: Uint8Array): string {
  return bytes.toHex().match(/.{1,8}/g)?.join(" ") ?? "";
}

/** Parses hex written with any spacing. */
export function bytesOf(spaced: string): Uint8Array {
  return Uint8Array.fromHex(spaced.replace(/\s+/g, ""));
}

/** Every message of a captured conversation, in order. */
export function capturedMessages(datagrams: readonly string[]): NetlinkMessage[] {
  return datagrams.flatMap((datagram) => decodeMessages(Uint8Array.fromHex(datagram)));
}
