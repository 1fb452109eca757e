/**
 * Encodes what the launcher's `wgl_cage_open` needs into the flat request of
 * launcher/cage.h: a 16-byte header and NUL-terminated strings.
 *
 * @module
 */

/** Version word of the request (`WGL_CAGE_REQUEST_VERSION`). */
export const REQUEST_VERSION = 1;
/** Flag: the command runs as uid/gid 0 of the cage (`WGL_CAGE_MAP_ROOT`). */
export const FLAG_MAP_ROOT = 1;

/** PATH used for the command lookup when the environment has none. */
export const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

/** The fields of one request. */
export interface CageRequest {
  readonly argv: readonly string[];
  readonly tunName: string;
  readonly mapRoot: boolean;
  /** Empty keeps the host's hostname. */
  readonly hostname: string;
  /** Paths of the generated files laid over /etc. */
  readonly resolvConfPath: string;
  readonly hostsPath: string;
  readonly nsswitchConfPath: string;
  /** The PATH the command is looked up in. */
  readonly path: string;
}

function checkString(what: string, s: string): void {
  if (s.includes("\0")) throw new TypeError(`Cannot start the cage: ${what} contains a NUL byte`);
}

/** Encodes a request; throws TypeError/RangeError for values C cannot take. */
export function encodeRequest(r: CageRequest): Uint8Array<ArrayBuffer> {
  if (r.argv.length === 0 || r.argv[0] === "") {
    throw new RangeError("Cannot start the cage: the command is empty");
  }
  const encoder = new TextEncoder();
  const nameBytes = encoder.encode(r.tunName).length;
  if (nameBytes === 0 || nameBytes > 15 || /[\s/:]/.test(r.tunName)) {
    throw new RangeError(
      `Cannot start the cage: TUN name '${r.tunName}' must be 1 to 15 bytes without spaces, '/' or ':'`,
    );
  }
  const strings = [
    r.tunName,
    r.hostname,
    r.resolvConfPath,
    r.hostsPath,
    r.nsswitchConfPath,
    r.path,
    ...r.argv,
  ];
  strings.forEach((s, i) => checkString(i < 6 ? "a cage setting" : `argument ${i - 6}`, s));
  const encoded = strings.map((s) => encoder.encode(s));
  const size = 16 + encoded.reduce((n, b) => n + b.length + 1, 0);
  const out = new Uint8Array(size);
  const header = new DataView(out.buffer);
  header.setUint32(0, REQUEST_VERSION, true);
  header.setUint32(4, r.mapRoot ? FLAG_MAP_ROOT : 0, true);
  header.setUint32(8, r.argv.length, true);
  header.setUint32(12, 0, true);
  let pos = 16;
  for (const b of encoded) {
    out.set(b, pos);
    pos += b.length + 1; // the NUL is already there
  }
  return out;
}
