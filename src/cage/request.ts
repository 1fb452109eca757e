/**
 * Encodes what the launcher's `wgl_cage_open` needs into the flat request of
 * launcher/cage.h: a 24-byte header and NUL-terminated strings.
 *
 * @module
 */

/** Version word of the request (`WGL_CAGE_REQUEST_VERSION`). */
export const REQUEST_VERSION = 3;
/** Size of the header (`WGL_CAGE_REQUEST_HEADER`). */
export const REQUEST_HEADER = 24;
/** Flag: the command runs as uid/gid 0 of the cage (`WGL_CAGE_MAP_ROOT`). */
export const FLAG_MAP_ROOT = 1;
/** Flag: as root, no user namespace for the cage (`WGL_CAGE_NO_USERNS`). */
export const FLAG_NO_USERNS = 2;
/** Flag: a live cage, whose init runs no command (`WGL_CAGE_HOLD`). */
export const FLAG_HOLD = 4;
/**
 * Flag: a socket service in the cage makes sockets there for wgcage
 * (`WGL_CAGE_SOCKET_SERVICE`, launcher/forward_service.h).
 */
export const FLAG_SOCKET_SERVICE = 8;

/** PATH used for the command lookup when the environment has none. */
export const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

/** The fields of one request. */
export interface CageRequest {
  readonly argv: readonly string[];
  readonly tunName: string;
  readonly mapRoot: boolean;
  /** As root, give the cage no user namespace of its own (no boundary). */
  readonly noUserns: boolean;
  /** Empty keeps the host's hostname. */
  readonly hostname: string;
  /** Contents of the files laid over /etc. */
  readonly resolvConf: string;
  readonly hosts: string;
  readonly nsswitchConf: string;
  /** The PATH the command is looked up in. */
  readonly path: string;
  /** Absolute host paths (daemon sockets) covered in the cage. */
  readonly hidePaths: readonly string[];
  /** The fd of the init program (a memfd). */
  readonly initFd: number;
  /** A live cage: the init holds the namespaces and runs no command. */
  readonly hold?: boolean;
  /** Start the socket service (published ports, host services). */
  readonly socketService?: boolean;
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
  for (const p of r.hidePaths) {
    if (!p.startsWith("/")) throw new RangeError(`Cannot hide '${p}' in the cage: not absolute`);
  }
  if (!Number.isInteger(r.initFd) || r.initFd < 0) {
    throw new RangeError("Cannot start the cage: no init program");
  }
  const settings = [r.tunName, r.hostname, r.resolvConf, r.hosts, r.nsswitchConf, r.path];
  const strings = [...settings, ...r.hidePaths, ...r.argv];
  const first = settings.length + r.hidePaths.length;
  strings.forEach((s, i) => checkString(i < first ? "a cage setting" : `argument ${i - first}`, s));
  const encoded = strings.map((s) => encoder.encode(s));
  const size = REQUEST_HEADER + encoded.reduce((n, b) => n + b.length + 1, 0);
  const out = new Uint8Array(size);
  const header = new DataView(out.buffer);
  header.setUint32(0, REQUEST_VERSION, true);
  const flags = (r.mapRoot ? FLAG_MAP_ROOT : 0) | (r.noUserns ? FLAG_NO_USERNS : 0) |
    (r.hold ? FLAG_HOLD : 0) | (r.socketService ? FLAG_SOCKET_SERVICE : 0);
  header.setUint32(4, flags, true);
  header.setUint32(8, r.argv.length, true);
  header.setUint32(12, r.hidePaths.length, true);
  header.setUint32(16, r.initFd, true);
  header.setUint32(20, 0, true);
  let pos = REQUEST_HEADER;
  for (const b of encoded) {
    out.set(b, pos);
    pos += b.length + 1; // the NUL is already there
  }
  return out;
}
