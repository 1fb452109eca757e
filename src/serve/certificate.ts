/**
 * The API's self-signed certificate: an ECDSA P-256 key made with WebCrypto
 * and an X.509 v3 certificate written with der.ts, so no external tool
 * (openssl) is needed. Kept in the state directory (the key 0600) and
 * reused, so the fingerprint clients pinned stays valid across restarts.
 *
 * @module
 */

import {
  bitString,
  boolean,
  explicit,
  implicit,
  integer,
  octetString,
  oid,
  sequence,
  set,
  time,
  utf8String,
} from "./der.ts";
import { parseIp } from "../config/ip.ts";
import { writeAtomic } from "./store.ts";

const ECDSA_SHA256 = "1.2.840.10045.4.3.2";
const COMMON_NAME = "2.5.4.3";
const SUBJECT_ALT_NAME = "2.5.29.17";
const BASIC_CONSTRAINTS = "2.5.29.19";
const VALID_DAYS = 3650;

function pem(label: string, der: Uint8Array): string {
  const b64 = der.toBase64();
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** The DER inside the first PEM block of `text`. */
export function pemBody(text: string): Uint8Array {
  const m = /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/.exec(text);
  if (m === null) throw new TypeError("no certificate in the PEM text");
  return Uint8Array.fromBase64(m[1].replace(/\s+/g, ""));
}

/** WebCrypto's r‖s signature as the DER `SEQUENCE { r, s }` X.509 wants. */
function derSignature(raw: Uint8Array): Uint8Array {
  return sequence(integer(raw.subarray(0, 32)), integer(raw.subarray(32)));
}

function altName(name: string): Uint8Array {
  try {
    return implicit(7, parseIp(name).bytes);
  } catch {
    return implicit(2, new TextEncoder().encode(name));
  }
}

export interface Certificate {
  readonly certPem: string;
  readonly keyPem: string;
  /** SHA-256 of the certificate's DER, lowercase hex. */
  readonly fingerprint: string;
}

export async function fingerprintOf(certPem: string): Promise<string> {
  const der = pemBody(certPem);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", der as Uint8Array<ArrayBuffer>))
    .toHex();
}

/** A new self-signed certificate for `names` (host names or addresses). */
export async function makeCertificate(
  names: readonly string[],
  now = new Date(),
): Promise<Certificate> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f;
  serial[0] |= 0x01;
  const algorithm = sequence(oid(ECDSA_SHA256));
  const name = sequence(set(sequence(oid(COMMON_NAME), utf8String("wgcage serve"))));
  const notAfter = new Date(now.getTime() + VALID_DAYS * 86_400_000);
  const extensions = [
    sequence(oid(BASIC_CONSTRAINTS), boolean(true), octetString(sequence())),
  ];
  if (names.length > 0) {
    extensions.push(
      sequence(oid(SUBJECT_ALT_NAME), octetString(sequence(...names.map(altName)))),
    );
  }
  const tbs = sequence(
    explicit(0, integer(Uint8Array.of(2))),
    integer(serial),
    algorithm,
    name,
    sequence(time(new Date(now.getTime() - 3_600_000)), time(notAfter)),
    name,
    spki,
    explicit(3, sequence(...extensions)),
  );
  const raw = new Uint8Array(
    await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      pair.privateKey,
      tbs as Uint8Array<ArrayBuffer>,
    ),
  );
  const der = sequence(tbs, algorithm, bitString(derSignature(raw)));
  const certPem = pem("CERTIFICATE", der);
  const keyPem = pem("PRIVATE KEY", pkcs8);
  pkcs8.fill(0);
  return { certPem, keyPem, fingerprint: await fingerprintOf(certPem) };
}

/** The certificate kept in `dir` (made there on first use). */
export async function keptCertificate(dir: string, names: readonly string[]): Promise<Certificate> {
  const certPath = `${dir}/api-cert.pem`;
  const keyPath = `${dir}/api-key.pem`;
  try {
    const certPem = Deno.readTextFileSync(certPath);
    const keyPem = Deno.readTextFileSync(keyPath);
    return { certPem, keyPem, fingerprint: await fingerprintOf(certPem) };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const made = await makeCertificate(names);
  // The key first: a certificate without its key would be kept forever.
  writeAtomic(keyPath, made.keyPem, 0o600);
  writeAtomic(certPath, made.certPem, 0o644);
  return made;
}
