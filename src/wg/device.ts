/**
 * The WireGuard device: a TypeScript face for one instance of the core
 * (`wasm/`). It is the only place that knows the core's memory layout:
 * argument buffers, the batch slots and descriptors (wasm/README.md).
 *
 * @example
 * ```ts ignore
 * const dev = await WgDevice.create();
 * dev.setPrivateKey(privateKey);
 * const peer = dev.addPeer({ publicKey, keepalive: 25, allowedIps });
 * dev.setEndpoint(peer, { family: 4, port: 51820, scopeId: 0, address });
 * const batch = dev.batch(64, 2048);
 * batch.setPacket(0, ipPacket);
 * batch.encrypt(performance.now(), Date.now(), 1);
 * ```
 *
 * @module
 */

import { instantiateCore } from "./wasm.ts";
import {
  AEAD_TAG_LEN,
  CoreError,
  DESC_ENDPOINT,
  DESC_LEN,
  DESC_OFFSET,
  DESC_OP,
  DESC_PEER,
  DESC_REASON,
  DESC_WORDS,
  ENDPOINT_ADDRESS,
  ENDPOINT_FAMILY,
  ENDPOINT_PORT,
  ENDPOINT_SCOPE_ID,
  ENDPOINT_WORDS,
  EVENT_A,
  EVENT_B,
  EVENT_KIND,
  EVENT_PEER,
  EVENT_WORDS,
  type EventKind,
  HEADROOM,
  INITIATION_LEN,
  LoadMode as CoreLoadMode,
  NO_PEER,
  Op,
  PADDING_MULTIPLE,
  Reason,
  STATS_HANDSHAKES,
  STATS_LAST_HANDSHAKE_WALL,
  STATS_RX_BYTES,
  STATS_SESSION_AGE,
  STATS_TX_BYTES,
  STATS_VALUES,
} from "./abi.ts";

/** Where a peer is reached: a UDP address. */
export interface Endpoint {
  family: 4 | 6;
  port: number;
  scopeId: number;
  /** 4 or 16 bytes, network order. */
  address: Uint8Array;
}

/** An allowed-IPs prefix (the config's `Cidr` has this shape). */
export interface Prefix {
  readonly family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  readonly address: Uint8Array;
  readonly prefix: number;
}

/** 32 bytes, given as is or as a `Key` (src/config/types.ts). */
export type KeyBytes = Uint8Array | { readonly bytes: Uint8Array };

export interface PeerOptions {
  publicKey: KeyBytes;
  presharedKey?: KeyBytes;
  /** Persistent keepalive in seconds; 0 is off. */
  keepalive: number;
  allowedIps: readonly Prefix[];
}

export interface PeerStats {
  /** Wall-clock ms of the last completed handshake; 0 = never. */
  lastHandshakeWall: number;
  rxBytes: number;
  txBytes: number;
  handshakes: number;
  /** Age of the current session in ms; undefined when there is none. */
  sessionAgeMs: number | undefined;
}

/** One record from the core's event ring. */
export interface WgEvent {
  kind: EventKind;
  peer: number;
  a: number;
  b: number;
}

/**
 * The core errors a configuration can cause, whose messages name the fix:
 * wgcage's own failures. Any other code is a bug in wgcage.
 */
const CONFIGURATION_ERRORS: ReadonlySet<number> = new Set([
  CoreError.NoPrivateKey,
  CoreError.DhZero,
  CoreError.TooManyPeers,
  CoreError.DuplicatePeer,
  CoreError.BadPrefix,
  CoreError.OutOfMemory,
]);

/**
 * A core call failed; `code` is a `CoreError`. When the configuration caused
 * it, `exitCode` is 125 (one of wgcage's own failures); otherwise it has
 * none, and main.ts reports it as the internal error it is.
 */
export class WgCoreError extends Error {
  readonly code: number;
  readonly exitCode?: number;
  constructor(what: string, code: number) {
    super(`Cannot ${what}: ${describe(code)}`);
    this.name = "WgCoreError";
    this.code = code;
    if (CONFIGURATION_ERRORS.has(code)) this.exitCode = 125;
  }
}

function describe(code: number): string {
  switch (code) {
    case CoreError.InvalidArgument:
      return "the core rejected an argument (InvalidArgument)";
    case CoreError.NoEntropy:
      return "the core has no entropy yet; feed it randomness first (NoEntropy)";
    case CoreError.NoPrivateKey:
      return "no private key is set; set the interface's PrivateKey first (NoPrivateKey)";
    case CoreError.DhZero:
      return "the key is a low-order point and cannot be used; check the public key (DhZero)";
    case CoreError.TooManyPeers:
      return "too many peers for one device; give the tunnel fewer peers (TooManyPeers)";
    case CoreError.NoSuchPeer:
      return "no such peer (NoSuchPeer)";
    case CoreError.DuplicatePeer:
      return "a peer with this public key already exists; list each peer once (DuplicatePeer)";
    case CoreError.BadPrefix:
      return "the prefix length is too long for the address family (BadPrefix)";
    case CoreError.OutOfMemory:
      return "the core is out of memory; give the tunnel fewer peers or AllowedIPs (OutOfMemory)";
    case CoreError.BufferTooSmall:
      return "the buffer is too small (BufferTooSmall)";
    default:
      return `the core failed (${nameOf(CoreError, code)})`;
  }
}

/** The name of `value` in one of abi.ts's enums, e.g. `"NoSuchPeer"`; `#N` if it has none. */
function nameOf(table: Readonly<Record<string, number>>, value: number): string {
  for (const [name, v] of Object.entries(table)) if (v === value) return name;
  return `#${value}`;
}

/** The core's exports as this file calls them. */
interface CoreExports {
  memory: WebAssembly.Memory;
  wg_selftest(): number;
  wg_alloc(len: number): number;
  wg_free(ptr: number, len: number): void;
  wg_entropy(ptr: number, len: number): number;
  wg_device_set_private_key(key: number): number;
  wg_device_public_key(out: number): number;
  wg_device_set_load(mode: number): number;
  wg_peer_add(pub: number, psk: number, keepalive: number): number;
  wg_peer_remove(peer: number): number;
  wg_peer_allowed_ip_add(peer: number, family: number, addr: number, prefix: number): number;
  wg_peer_allowed_ip_remove(peer: number, family: number, addr: number, prefix: number): number;
  wg_peer_set_preshared_key(peer: number, psk: number): number;
  wg_peer_set_keepalive(peer: number, keepalive: number): number;
  wg_peer_set_endpoint(peer: number, ep: number): number;
  wg_peer_endpoint(peer: number, out: number): number;
  wg_peer_stats(peer: number, out: number): number;
  wg_peer_initiate(peer: number, now: number, wall: number): number;
  wg_encrypt_batch(
    slots: number,
    slotSize: number,
    desc: number,
    count: number,
    now: number,
    wall: number,
  ): number;
  wg_decrypt_batch(
    slots: number,
    slotSize: number,
    desc: number,
    count: number,
    now: number,
    wall: number,
  ): number;
  wg_poll(
    slots: number,
    slotSize: number,
    desc: number,
    count: number,
    now: number,
    wall: number,
  ): number;
  wg_next_deadline(now: number): number;
  wg_events(out: number, cap: number): number;
}

/** How the core decides whether it is under load (cookies for handshakes). */
export type LoadMode = "auto" | "always" | "never";

const LOAD_MODES: Readonly<Record<LoadMode, CoreLoadMode>> = {
  auto: CoreLoadMode.Auto,
  always: CoreLoadMode.Always,
  never: CoreLoadMode.Never,
};

const SCRATCH_LEN = 256;
const EVENTS_CAP = 64;
/** Batch calls between two re-feeds of 32 bytes of entropy. */
const RESEED_EVERY = 4096;
const ENDPOINT_BYTES = ENDPOINT_WORDS * 4;
const EVENT_BYTES = EVENT_WORDS * 4;
/** The largest slot a batch takes (a 64 KiB packet and its overhead). */
const MAX_SLOT_SIZE = 65536 + 64;

/** One WireGuard device: one instance of the core. */
export class WgDevice {
  readonly #core: CoreExports;
  readonly #entropy: (buf: Uint8Array) => void;
  readonly #scratch: number;
  readonly #events: number;
  #u8: Uint8Array;
  #calls = 0;

  private constructor(core: CoreExports, entropy: (buf: Uint8Array) => void) {
    this.#core = core;
    this.#entropy = entropy;
    this.#u8 = new Uint8Array(core.memory.buffer);
    this.#scratch = this.#alloc(SCRATCH_LEN);
    this.#events = this.#alloc(EVENTS_CAP * EVENT_BYTES);
    this.#feed(64);
  }

  /** A new device; `entropy` fills buffers with random bytes (default: Web Crypto). */
  static async create(
    opts: { entropy?: (buf: Uint8Array) => void } = {},
  ): Promise<WgDevice> {
    const instance = await instantiateCore();
    return WgDevice.fromInstance(instance, opts);
  }

  /** A device over an instance the caller made (tests load their own builds). */
  static fromInstance(
    instance: WebAssembly.Instance,
    opts: { entropy?: (buf: Uint8Array) => void } = {},
  ): WgDevice {
    const entropy = opts.entropy ?? ((buf: Uint8Array) => crypto.getRandomValues(buf));
    return new WgDevice(instance.exports as unknown as CoreExports, entropy);
  }

  /** The raw exports, for the batch class and tests that probe the ABI. */
  get core(): CoreExports {
    return this.#core;
  }

  /** Linear memory as bytes (re-created when memory grew). */
  memory(): Uint8Array {
    if (this.#u8.buffer !== this.#core.memory.buffer) {
      this.#u8 = new Uint8Array(this.#core.memory.buffer);
    }
    return this.#u8;
  }

  #alloc(len: number): number {
    const ptr = this.#core.wg_alloc(len) >>> 0;
    if (ptr === 0) throw new WgCoreError(`allocate ${len} bytes`, CoreError.OutOfMemory);
    return ptr;
  }

  #feed(len: number): void {
    const buf = new Uint8Array(len);
    this.#entropy(buf);
    this.memory().set(buf, this.#scratch);
    buf.fill(0);
    const r = this.#core.wg_entropy(this.#scratch, len);
    this.memory().fill(0, this.#scratch, this.#scratch + len);
    check("feed entropy to the core", r);
  }

  /** Counts a batch call and re-feeds entropy now and then. */
  tick(): void {
    if (++this.#calls % RESEED_EVERY === 0) this.#feed(32);
  }

  #put(bytes: Uint8Array, at = 0): number {
    if (at + bytes.length > SCRATCH_LEN) throw new RangeError("Cannot stage argument: too long");
    this.memory().set(bytes, this.#scratch + at);
    return this.#scratch + at;
  }

  #wipeScratch(): void {
    this.memory().fill(0, this.#scratch, this.#scratch + SCRATCH_LEN);
  }

  /** Sets the interface's private key (32 bytes; clamped by the core). */
  setPrivateKey(key: KeyBytes): void {
    const bytes = keyBytes(key, "private key");
    try {
      check("set the private key", this.#core.wg_device_set_private_key(this.#put(bytes)));
    } finally {
      this.#wipeScratch();
    }
  }

  /** The interface's public key. */
  publicKey(): Uint8Array {
    check("read the public key", this.#core.wg_device_public_key(this.#scratch));
    return this.memory().slice(this.#scratch, this.#scratch + 32);
  }

  /** Forces or forbids "under load" (cookie replies); "auto" decides by rate. */
  setLoad(mode: LoadMode): void {
    check("set the load mode", this.#core.wg_device_set_load(LOAD_MODES[mode]));
  }

  /** Adds a peer with its allowed IPs; returns its id. */
  addPeer(opts: PeerOptions): number {
    const pub = keyBytes(opts.publicKey, "public key");
    if (!Number.isInteger(opts.keepalive) || opts.keepalive < 0 || opts.keepalive > 65535) {
      throw new RangeError(
        `Cannot add peer: keepalive must be 0..65535 seconds, got ${opts.keepalive}`,
      );
    }
    let id: number;
    try {
      const pubPtr = this.#put(pub, 0);
      const pskPtr = opts.presharedKey
        ? this.#put(keyBytes(opts.presharedKey, "preshared key"), 32)
        : 0;
      id = check("add peer", this.#core.wg_peer_add(pubPtr, pskPtr, opts.keepalive));
    } finally {
      this.#wipeScratch();
    }
    try {
      for (const cidr of opts.allowedIps) this.addAllowedIp(id, cidr);
    } catch (e) {
      this.#core.wg_peer_remove(id);
      throw e;
    }
    return id;
  }

  /** Routes a prefix to a peer (a prefix moves if another peer had it). */
  addAllowedIp(peer: number, cidr: Prefix): void {
    this.#allowedIpCall("add", this.#core.wg_peer_allowed_ip_add, peer, cidr);
  }

  /** Stops routing a prefix to a peer (if it has it); the peer's sessions stay. */
  removeAllowedIp(peer: number, cidr: Prefix): void {
    this.#allowedIpCall("remove", this.#core.wg_peer_allowed_ip_remove, peer, cidr);
  }

  #allowedIpCall(
    verb: string,
    call: (peer: number, family: number, addr: number, prefix: number) => number,
    peer: number,
    cidr: Prefix,
  ): void {
    const len = cidr.family === 4 ? 4 : 16;
    if (cidr.address.length !== len) {
      throw new RangeError(
        `Cannot ${verb} allowed IP: a v${cidr.family} address has ${len} bytes, got ${cidr.address.length}`,
      );
    }
    const r = call(peer, cidr.family, this.#put(cidr.address), cidr.prefix);
    check(`${verb} allowed IP with prefix /${cidr.prefix}`, r);
  }

  /**
   * Changes a peer's preshared key (undefined: none) without ending its
   * sessions; the next handshake uses it.
   */
  setPresharedKey(peer: number, psk: KeyBytes | undefined): void {
    try {
      const ptr = psk === undefined ? 0 : this.#put(keyBytes(psk, "preshared key"));
      check("set the preshared key", this.#core.wg_peer_set_preshared_key(peer, ptr));
    } finally {
      this.#wipeScratch();
    }
  }

  /**
   * Changes a peer's persistent keepalive (seconds, 0 off) without ending
   * its sessions; turned on, a keepalive goes at once.
   */
  setKeepalive(peer: number, seconds: number): void {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 65535) {
      throw new RangeError(`Cannot set keepalive: must be 0..65535 seconds, got ${seconds}`);
    }
    check("set the keepalive", this.#core.wg_peer_set_keepalive(peer, seconds));
  }

  /** Removes a peer; its keys are wiped. */
  removePeer(peer: number): void {
    check("remove peer", this.#core.wg_peer_remove(peer));
  }

  /** Sets where the peer is reached (until an authenticated packet moves it). */
  setEndpoint(peer: number, ep: Endpoint): void {
    const words = new DataView(new ArrayBuffer(ENDPOINT_BYTES));
    encodeEndpoint(words, 0, ep);
    const r = this.#core.wg_peer_set_endpoint(peer, this.#put(new Uint8Array(words.buffer)));
    check("set endpoint", r);
  }

  /** The peer's current endpoint, if known. */
  endpoint(peer: number): Endpoint | undefined {
    const r = check("read endpoint", this.#core.wg_peer_endpoint(peer, this.#scratch));
    if (r === 0) return undefined;
    const m = this.memory();
    return decodeEndpoint(new DataView(m.buffer, m.byteOffset + this.#scratch, ENDPOINT_BYTES), 0);
  }

  /** Traffic and handshake counters of a peer. */
  stats(peer: number): PeerStats {
    check("read peer stats", this.#core.wg_peer_stats(peer, this.#scratch));
    const m = this.memory();
    const v = new DataView(m.buffer, this.#scratch, STATS_VALUES * 8);
    const value = (i: number) => v.getFloat64(i * 8, true);
    const age = value(STATS_SESSION_AGE);
    return {
      lastHandshakeWall: value(STATS_LAST_HANDSHAKE_WALL),
      rxBytes: value(STATS_RX_BYTES),
      txBytes: value(STATS_TX_BYTES),
      handshakes: value(STATS_HANDSHAKES),
      sessionAgeMs: age < 0 ? undefined : age,
    };
  }

  /** Starts a handshake now; the initiation comes out of the next `poll`. */
  initiate(peer: number, now: number, wall: number): void {
    check("start a handshake", this.#core.wg_peer_initiate(peer, now, wall));
  }

  /** Monotonic ms when `poll` should run next (`Infinity` if never; `now` if at once). */
  nextDeadline(now: number): number {
    return this.#core.wg_next_deadline(now);
  }

  /** Drains the event ring. */
  events(): WgEvent[] {
    const out: WgEvent[] = [];
    for (;;) {
      const n = check("read events", this.#core.wg_events(this.#events, EVENTS_CAP));
      const m = this.memory();
      const v = new DataView(m.buffer, this.#events, n * EVENT_BYTES);
      for (let i = 0; i < n; i++) {
        const word = (w: number) => v.getUint32((i * EVENT_WORDS + w) * 4, true);
        out.push({
          kind: word(EVENT_KIND) as EventKind,
          peer: word(EVENT_PEER),
          a: word(EVENT_A),
          b: word(EVENT_B),
        });
      }
      if (n < EVENTS_CAP) return out;
    }
  }

  /**
   * Runs the core's built-in known-answer checks (BLAKE2s, HMAC, the KDF
   * chain, both AEADs, X25519); 0 when all pass, else the number of the first
   * that failed.
   */
  selfTest(): number {
    return this.#core.wg_selftest();
  }

  /**
   * Ends the device: every byte of its memory — private key, session keys,
   * packets — is overwritten with zeros, by `wipe` when given (one that skips
   * pages never written is much faster on a mostly empty memory). The device
   * is unusable afterwards.
   */
  close(wipe: (memory: Uint8Array) => void = (m) => m.fill(0)): void {
    wipe(new Uint8Array(this.#core.memory.buffer));
  }

  /** `count` slots of `slotSize` bytes and their descriptors, in core memory. */
  batch(count: number, slotSize: number): Batch {
    return new Batch(this, count, slotSize);
  }

  /** Allocates core memory for a batch (used by `Batch`). */
  allocate(len: number): number {
    return this.#alloc(len);
  }

  [Symbol.for("Deno.customInspect")](): string {
    return "WgDevice(<keys redacted>)";
  }
}

/**
 * Packet slots and their descriptors inside the core's memory. Packets are
 * sealed and opened in place; `slotsPointerView`/`descView` let the C batch
 * I/O read and write them directly.
 */
export class Batch {
  readonly count: number;
  readonly slotSize: number;
  /** Offset of slot 0 in core memory. */
  readonly slotsPtr: number;
  /** Offset of descriptor 0 in core memory. */
  readonly descPtr: number;
  readonly #dev: WgDevice;
  #buffer: ArrayBufferLike | undefined;
  #slots: Uint8Array = new Uint8Array(0);
  #desc: Uint32Array = new Uint32Array(0);
  #freed = false;

  constructor(dev: WgDevice, count: number, slotSize: number) {
    if (!Number.isInteger(count) || count < 1 || count > 65536) {
      throw new RangeError(`Cannot make a batch: count must be 1..65536, got ${count}`);
    }
    if (!Number.isInteger(slotSize) || slotSize < INITIATION_LEN || slotSize > MAX_SLOT_SIZE) {
      throw new RangeError(
        `Cannot make a batch: slot size must be ${INITIATION_LEN}..${MAX_SLOT_SIZE}, got ${slotSize}`,
      );
    }
    this.#dev = dev;
    this.count = count;
    this.slotSize = slotSize;
    this.slotsPtr = dev.allocate(count * slotSize);
    this.descPtr = dev.allocate(count * DESC_WORDS * 4);
  }

  /** The largest IP packet `encrypt` can seal in these slots. */
  get maxPacket(): number {
    const room = this.slotSize - HEADROOM - AEAD_TAG_LEN;
    return Math.floor(room / PADDING_MULTIPLE) * PADDING_MULTIPLE;
  }

  #views(): void {
    const buffer = this.#dev.core.memory.buffer;
    if (this.#buffer !== buffer) {
      this.#buffer = buffer;
      this.#slots = new Uint8Array(buffer, this.slotsPtr, this.count * this.slotSize);
      this.#desc = new Uint32Array(buffer, this.descPtr, this.count * DESC_WORDS);
    }
  }

  /** All slots, back to back (for the C batch I/O). */
  slotsPointerView(): Uint8Array {
    this.#views();
    return this.#slots;
  }

  /** All descriptors, `DESC_WORDS` words each (for the C batch I/O). */
  descView(): Uint32Array {
    this.#views();
    return this.#desc;
  }

  #check(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) {
      throw new RangeError(`Cannot use slot ${i}: the batch has ${this.count}`);
    }
    if (this.#freed) throw new Error("Cannot use a freed batch");
    return i * DESC_WORDS;
  }

  #n(n: number | undefined): number {
    const k = n ?? this.count;
    if (!Number.isInteger(k) || k < 0 || k > this.count) {
      throw new RangeError(`Cannot process ${k} slots: the batch has ${this.count}`);
    }
    if (this.#freed) throw new Error("Cannot use a freed batch");
    return k;
  }

  /** Slot `i`, whole. */
  slotView(i: number): Uint8Array {
    this.#check(i);
    const s = this.slotsPointerView();
    return s.subarray(i * this.slotSize, (i + 1) * this.slotSize);
  }

  /** The packet in slot `i` (offset and length from its descriptor). */
  packet(i: number): Uint8Array {
    const off = this.offset(i);
    const len = this.len(i);
    return this.slotView(i).subarray(off, Math.min(off + len, this.slotSize));
  }

  /** Copies `bytes` into slot `i` at `offset` and sets the descriptor. */
  setPacket(i: number, bytes: Uint8Array, offset = HEADROOM): void {
    const d = this.#check(i);
    if (offset < 0 || offset + bytes.length > this.slotSize) {
      throw new RangeError(
        `Cannot put ${bytes.length} bytes at ${offset} into a ${this.slotSize}-byte slot`,
      );
    }
    this.slotView(i).set(bytes, offset);
    const desc = this.descView();
    desc[d + DESC_OFFSET] = offset;
    desc[d + DESC_LEN] = bytes.length;
    desc[d + DESC_OP] = Op.None;
    desc[d + DESC_PEER] = NO_PEER;
    desc[d + DESC_REASON] = Reason.Ok;
  }

  offset(i: number): number {
    return this.descView()[this.#check(i) + DESC_OFFSET];
  }
  len(i: number): number {
    return this.descView()[this.#check(i) + DESC_LEN];
  }
  op(i: number): Op {
    return this.descView()[this.#check(i) + DESC_OP] as Op;
  }
  reason(i: number): Reason {
    return this.descView()[this.#check(i) + DESC_REASON] as Reason;
  }
  /** Peer id, or undefined. */
  peer(i: number): number | undefined {
    const p = this.descView()[this.#check(i) + DESC_PEER];
    return p === NO_PEER ? undefined : p;
  }

  setOffset(i: number, offset: number): void {
    this.descView()[this.#check(i) + DESC_OFFSET] = offset;
  }
  setLen(i: number, len: number): void {
    this.descView()[this.#check(i) + DESC_LEN] = len;
  }

  /** The endpoint in descriptor `i` (destination after encrypt/poll, source for decrypt). */
  endpoint(i: number): Endpoint | undefined {
    const d = this.#check(i) + DESC_ENDPOINT;
    const desc = this.descView();
    const family = desc[d + ENDPOINT_FAMILY];
    if (family !== 4 && family !== 6) return undefined;
    return decodeEndpoint(new DataView(desc.buffer, desc.byteOffset + d * 4, ENDPOINT_BYTES), 0);
  }

  setEndpoint(i: number, ep: Endpoint | undefined): void {
    const d = this.#check(i) + DESC_ENDPOINT;
    const desc = this.descView();
    const view = new DataView(desc.buffer, desc.byteOffset + d * 4, ENDPOINT_BYTES);
    if (ep === undefined) {
      for (let w = 0; w < ENDPOINT_WORDS; w++) view.setUint32(w * 4, 0, true);
    } else {
      encodeEndpoint(view, 0, ep);
    }
  }

  /** Seals the first `n` packets (placed at offset `HEADROOM`) for their peers. */
  encrypt(now: number, wall: number, n?: number): void {
    const k = this.#n(n);
    if (k === 0) return;
    this.#dev.tick();
    const core = this.#dev.core;
    check(
      "encrypt a batch",
      core.wg_encrypt_batch(this.slotsPtr, this.slotSize, this.descPtr, k, now, wall),
    );
  }

  /** Opens the first `n` datagrams (placed at offset 0, source in the descriptor). */
  decrypt(now: number, wall: number, n?: number): void {
    const k = this.#n(n);
    if (k === 0) return;
    this.#dev.tick();
    const core = this.#dev.core;
    check(
      "decrypt a batch",
      core.wg_decrypt_batch(this.slotsPtr, this.slotSize, this.descPtr, k, now, wall),
    );
  }

  /** Runs timers and fills slots with packets to send; returns how many. */
  poll(now: number, wall: number): number {
    this.#n(this.count);
    this.#dev.tick();
    const core = this.#dev.core;
    return check(
      "poll the core",
      core.wg_poll(this.slotsPtr, this.slotSize, this.descPtr, this.count, now, wall),
    );
  }

  /** Returns the memory to the core (zeroed). The batch is unusable afterwards. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.#dev.core.wg_free(this.slotsPtr, this.count * this.slotSize);
    this.#dev.core.wg_free(this.descPtr, this.count * DESC_WORDS * 4);
  }
}

function check(what: string, r: number): number {
  if (r < 0) throw new WgCoreError(what, -r);
  return r;
}

function keyBytes(key: KeyBytes, what: string): Uint8Array {
  const bytes = key instanceof Uint8Array ? key : key.bytes;
  if (bytes.length !== 32) {
    throw new RangeError(`Cannot use the ${what}: expected 32 bytes, got ${bytes.length}`);
  }
  return bytes;
}

function encodeEndpoint(view: DataView, at: number, ep: Endpoint): void {
  const len = ep.family === 4 ? 4 : 16;
  if (ep.address.length !== len) {
    throw new RangeError(
      `Cannot use endpoint: a v${ep.family} address has ${len} bytes, got ${ep.address.length}`,
    );
  }
  if (!Number.isInteger(ep.port) || ep.port < 0 || ep.port > 65535) {
    throw new RangeError(`Cannot use endpoint: port must be 0..65535, got ${ep.port}`);
  }
  view.setUint32(at + ENDPOINT_FAMILY * 4, ep.family, true);
  view.setUint32(at + ENDPOINT_PORT * 4, ep.port, true);
  view.setUint32(at + ENDPOINT_SCOPE_ID * 4, ep.scopeId >>> 0, true);
  const address = at + ENDPOINT_ADDRESS * 4;
  for (let i = 0; i < 16; i++) view.setUint8(address + i, i < len ? ep.address[i] : 0);
}

function decodeEndpoint(view: DataView, at: number): Endpoint {
  const family = view.getUint32(at + ENDPOINT_FAMILY * 4, true) === 6 ? 6 : 4;
  const len = family === 4 ? 4 : 16;
  const address = new Uint8Array(len);
  for (let i = 0; i < len; i++) address[i] = view.getUint8(at + ENDPOINT_ADDRESS * 4 + i);
  return {
    family,
    port: view.getUint32(at + ENDPOINT_PORT * 4, true),
    scopeId: view.getUint32(at + ENDPOINT_SCOPE_ID * 4, true),
    address,
  };
}
