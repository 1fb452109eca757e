/**
 * The little of DNS (RFC 1035, AAAA from RFC 3596) that the test responder
 * needs: parse a query's header and question, and build an answer with A or
 * AAAA records from a fixed table, NXDOMAIN for unknown names.
 *
 * @module
 */

/** Record types the responder answers, and names for a few more in its log. */
export const RecordType: Readonly<Record<string, number>> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  HTTPS: 65,
  ANY: 255,
};

/** The name of a record type, or `TYPE<n>`. */
export function recordTypeName(type: number): string {
  for (const [name, value] of Object.entries(RecordType)) if (value === type) return name;
  return `TYPE${type}`;
}

/** Response codes used here. */
export const Rcode = { NoError: 0, FormErr: 1, ServFail: 2, NxDomain: 3, NotImp: 4 } as const;

/** The name of a response code. */
export function rcodeName(rcode: number): string {
  return ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP"][rcode] ?? `RCODE${rcode}`;
}

/** One question of a query. */
export interface DnsQuestion {
  /** Lower-case, without the trailing dot. */
  readonly name: string;
  readonly type: number;
  readonly qclass: number;
  /** The question's bytes as they were on the wire (name, type, class). */
  readonly wire: Uint8Array;
}

/** A parsed query. */
export interface DnsQuery {
  readonly id: number;
  readonly flags: number;
  readonly opcode: number;
  readonly questions: readonly DnsQuestion[];
}

/** Addresses for one name. */
export interface DnsRecords {
  readonly a: Uint8Array[];
  readonly aaaa: Uint8Array[];
}

/** A malformed message. */
export class DnsFormatError extends Error {
  override name = "DnsFormatError";
}

/** Parses a query's header and questions; other sections are ignored. */
export function parseQuery(message: Uint8Array): DnsQuery {
  if (message.length < 12) throw new DnsFormatError("Cannot parse DNS message: short header");
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const id = view.getUint16(0);
  const flags = view.getUint16(2);
  if (flags & 0x8000) throw new DnsFormatError("Cannot parse DNS query: it is a response");
  const qdcount = view.getUint16(4);
  const questions: DnsQuestion[] = [];
  let at = 12;
  for (let q = 0; q < qdcount; q++) {
    const start = at;
    const { name, end } = readName(message, at);
    if (end + 4 > message.length) throw new DnsFormatError("Cannot parse DNS question: cut off");
    questions.push({
      name,
      type: view.getUint16(end),
      qclass: view.getUint16(end + 2),
      wire: message.slice(start, end + 4),
    });
    at = end + 4;
  }
  return { id, flags, opcode: (flags >> 11) & 0x0f, questions };
}

/** Reads a domain name at `at` (following compression pointers). */
function readName(message: Uint8Array, at: number): { name: string; end: number } {
  const labels: string[] = [];
  let end = -1;
  let jumps = 0;
  for (;;) {
    if (at >= message.length) throw new DnsFormatError("Cannot parse DNS name: cut off");
    const length = message[at];
    if (length === 0) {
      if (end < 0) end = at + 1;
      break;
    }
    if ((length & 0xc0) === 0xc0) {
      if (at + 1 >= message.length || ++jumps > 16) {
        throw new DnsFormatError("Cannot parse DNS name: bad compression pointer");
      }
      if (end < 0) end = at + 2;
      at = ((length & 0x3f) << 8) | message[at + 1];
      continue;
    }
    if (length > 63 || at + 1 + length > message.length) {
      throw new DnsFormatError("Cannot parse DNS name: bad label");
    }
    labels.push(new TextDecoder().decode(message.subarray(at + 1, at + 1 + length)));
    at += 1 + length;
  }
  return { name: labels.join(".").toLowerCase(), end };
}

/** The rcode and answers for one question from `table`. */
export function lookup(
  table: ReadonlyMap<string, DnsRecords>,
  question: DnsQuestion,
): { rcode: number; addresses: Uint8Array[] } {
  const records = table.get(question.name);
  if (records === undefined) return { rcode: Rcode.NxDomain, addresses: [] };
  if (question.type === RecordType.A) return { rcode: Rcode.NoError, addresses: records.a };
  if (question.type === RecordType.AAAA) return { rcode: Rcode.NoError, addresses: records.aaaa };
  return { rcode: Rcode.NoError, addresses: [] };
}

/**
 * Builds the response to `query`: its first question echoed, `rcode`, and
 * one A/AAAA record per address (4 or 16 bytes) with `ttl`.
 */
export function buildResponse(
  query: DnsQuery,
  rcode: number,
  addresses: readonly Uint8Array[],
  ttl = 60,
): Uint8Array {
  const question = query.questions[0];
  const parts: Uint8Array[] = [];
  const header = new Uint8Array(12);
  const hv = new DataView(header.buffer);
  hv.setUint16(0, query.id);
  // QR=1, opcode copied, AA=1, RD copied, RA=0.
  hv.setUint16(2, 0x8000 | (query.opcode << 11) | 0x0400 | (query.flags & 0x0100) | rcode);
  hv.setUint16(4, question ? 1 : 0);
  hv.setUint16(6, question ? addresses.length : 0);
  parts.push(header);
  if (question) {
    parts.push(question.wire);
    for (const address of addresses) {
      const record = new Uint8Array(12 + address.length);
      const rv = new DataView(record.buffer);
      rv.setUint16(0, 0xc00c); // pointer to the question's name at offset 12
      rv.setUint16(2, address.length === 4 ? RecordType.A : RecordType.AAAA);
      rv.setUint16(4, 1); // IN
      rv.setUint32(6, ttl);
      rv.setUint16(10, address.length);
      record.set(address, 12);
      parts.push(record);
    }
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Builds a query for `name` and `type` (for tests and clients). */
export function buildQuery(id: number, name: string, type: number): Uint8Array {
  const labels = name.replace(/\.$/, "").split(".").map((l) => new TextEncoder().encode(l));
  const out = new Uint8Array(12 + labels.reduce((n, l) => n + 1 + l.length, 0) + 1 + 4);
  const view = new DataView(out.buffer);
  view.setUint16(0, id);
  view.setUint16(2, 0x0100); // RD
  view.setUint16(4, 1);
  let at = 12;
  for (const label of labels) {
    out[at++] = label.length;
    out.set(label, at);
    at += label.length;
  }
  out[at++] = 0;
  view.setUint16(at, type);
  view.setUint16(at + 2, 1);
  return out;
}

/** Parses a dotted IPv4 address into 4 bytes. */
export function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    return undefined;
  }
  return Uint8Array.from(parts.map(Number));
}

/** Parses an IPv6 address (with `::`, without zone or embedded IPv4) into 16 bytes. */
export function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if ((halves.length === 2 && fill < 1) || (halves.length === 1 && fill !== 0)) return undefined;
  const all = [...head, ...Array(halves.length === 2 ? fill : 0).fill("0"), ...tail];
  const out = new Uint8Array(16);
  for (const [i, g] of all.entries()) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const value = parseInt(g, 16);
    out[i * 2] = value >> 8;
    out[i * 2 + 1] = value & 0xff;
  }
  return out;
}

/**
 * Builds the responder's table from `name=address` entries; several entries
 * for one name add addresses.
 */
export function buildTable(entries: readonly string[]): Map<string, DnsRecords> {
  const table = new Map<string, DnsRecords>();
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    const name = entry.slice(0, eq).replace(/\.$/, "").toLowerCase();
    const text = entry.slice(eq + 1);
    const v4 = parseIpv4(text);
    const v6 = v4 ? undefined : parseIpv6(text);
    if (eq <= 0 || (!v4 && !v6)) {
      throw new RangeError(`Cannot use --dns-name "${entry}": write name=IPv4 or name=IPv6`);
    }
    const records = table.get(name) ?? { a: [], aaaa: [] };
    if (v4) records.a.push(v4);
    if (v6) records.aaaa.push(v6);
    table.set(name, records);
  }
  return table;
}
