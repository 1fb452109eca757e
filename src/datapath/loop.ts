/**
 * The data path: TUN ⇄ core ⇄ UDP, one batch at a time.
 *
 * Each turn of the loop runs these stages, in this order:
 *
 *   1. outbound: read a batch of IP packets from the TUN → the core seals the
 *      batch in place → send every sealed packet to its peer's endpoint;
 *   2. inbound: receive a batch of datagrams → the core opens the batch in
 *      place → write the IP packets to the TUN, send the handshake responses
 *      and cookie replies it produced;
 *   3. control: when a handshake finished, a packet was staged, or a timer is
 *      due, poll the core for handshake initiations, keepalives and staged
 *      packets, and send them;
 *   4. idle: when neither side had anything, wait for the TUN or the socket to
 *      become readable, or for the next timer.
 *
 * One FFI call moves a whole batch and one core call seals or opens it, so the
 * per-packet cost of crossing into C or WASM is paid once per batch. The loop
 * yields to the event loop now and then even when busy, so signals and the
 * cage's exit are handled under full load too.
 *
 * @module
 */

import type { Clock } from "./clock.ts";

/** A batch of packet slots and descriptors that lives in the core's memory. */
export interface PacketBatch {
  readonly count: number;
}

/** What the loop needs from the WireGuard core. */
export interface DataPathCore<B extends PacketBatch> {
  /** Seals the first `n` packets of `batch` (read from the TUN). */
  encrypt(batch: B, n: number, now: number, wall: number): void;
  /** Opens the first `n` datagrams of `batch` (received from peers). */
  decrypt(batch: B, n: number, now: number, wall: number): void;
  /** Fills `batch` with control and staged packets to send; returns how many. */
  poll(batch: B, now: number, wall: number): number;
  /**
   * Monotonic ms of the next timer event; `now` when the core already has
   * something to send (a staged packet, a keepalive, an initiation).
   */
  nextDeadline(now: number): number;
}

/** The kernel side: the TUN device and the UDP socket. */
export interface PacketIo<B extends PacketBatch> {
  readTun(batch: B): number;
  writeTun(batch: B, n: number): void;
  recvUdp(batch: B): number;
  sendUdp(batch: B, n: number): void;
  /** Resolves when the TUN or the socket may be readable, `wake()` was called, or after `timeoutMs`. */
  wait(timeoutMs: number): Promise<void>;
  /** Ends a pending `wait` early. */
  wake(): void;
}

export interface DataPathOptions<B extends PacketBatch> {
  core: DataPathCore<B>;
  io: PacketIo<B>;
  clock: Clock;
  /** Three batches: outbound, inbound, control. */
  batches: { outbound: B; inbound: B; control: B };
  /** Called after every turn that may have produced core events. */
  onTurn?: () => void;
  /**
   * Called with each batch the core has just sealed or opened, before it is
   * sent or written (the descriptors then say why a packet was dropped).
   */
  onProcessed?: (batch: B, n: number) => void;
  /** Called with each batch read from the TUN, before the core seals it (plaintext). */
  onRead?: (batch: B, n: number) => void;
}

export interface DataPathStats {
  turns: number;
  tunPackets: number;
  udpDatagrams: number;
  waits: number;
}

/**
 * Stage 3 on its own: polls the core for handshake initiations, keepalives
 * and staged packets until it has no more, and sends each batch it fills.
 * The loop runs it on the turns that need it; a tunnel runs it once before
 * the loop exists, so that its first initiations leave while the cage is
 * being made.
 */
export function sendControl<B extends PacketBatch>(
  core: DataPathCore<B>,
  control: B,
  send: (batch: B, n: number) => void,
  now: number,
  wall: number,
): void {
  let filled: number;
  do {
    filled = core.poll(control, now, wall);
    if (filled > 0) send(control, filled);
  } while (filled === control.count);
}

/** Longest stretch of busy turns before the loop lets the event loop run. */
const MAX_BUSY_MS = 4;
/** Longest idle wait, so that a stop request is never held up for long. */
const MAX_WAIT_MS = 1000;

export class DataPath<B extends PacketBatch> {
  readonly stats: DataPathStats = { turns: 0, tunPackets: 0, udpDatagrams: 0, waits: 0 };
  #stopped = false;
  #pollWanted = true;
  /** Monotonic ms by which an idle wait must end, for the owner's own deadline. */
  #wakeAt = Infinity;
  #done: Promise<void> | undefined;
  readonly #o: DataPathOptions<B>;

  constructor(options: DataPathOptions<B>) {
    this.#o = options;
  }

  /** Starts the loop; the promise settles when it stops (or fails). */
  start(): Promise<void> {
    this.#done ??= this.#run();
    return this.#done;
  }

  /** Asks for a control poll on the next turn (e.g. after `initiate`). */
  kick(): void {
    this.#pollWanted = true;
    this.#o.io.wake();
  }

  /**
   * Makes the loop turn (and call `onTurn`) no later than monotonic time `at`,
   * even when idle: how the owner keeps a deadline of its own without a timer.
   */
  wakeAt(at: number): void {
    if (at < this.#wakeAt) {
      this.#wakeAt = at;
      this.#o.io.wake();
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#o.io.wake();
    await this.#done;
  }

  async #run(): Promise<void> {
    const { core, io, clock, batches, onTurn, onProcessed, onRead } = this.#o;
    let deadline = 0;
    let busySince = clock.now();
    while (!this.#stopped) {
      const now = clock.now();
      const wall = clock.wall();
      this.stats.turns++;

      // 1. outbound
      const out = io.readTun(batches.outbound);
      if (out > 0) {
        this.stats.tunPackets += out;
        onRead?.(batches.outbound, out);
        core.encrypt(batches.outbound, out, now, wall);
        onProcessed?.(batches.outbound, out);
        io.sendUdp(batches.outbound, out);
      }

      // 2. inbound
      const inb = io.recvUdp(batches.inbound);
      if (inb > 0) {
        this.stats.udpDatagrams += inb;
        core.decrypt(batches.inbound, inb, now, wall);
        onProcessed?.(batches.inbound, inb);
        io.writeTun(batches.inbound, inb);
        io.sendUdp(batches.inbound, inb);
      }

      // 3. control (a processed batch may have moved the next timer)
      if (out > 0 || inb > 0) deadline = core.nextDeadline(now);
      if (this.#pollWanted || now >= deadline) {
        this.#pollWanted = false;
        sendControl(core, batches.control, (b, n) => io.sendUdp(b, n), now, wall);
        deadline = core.nextDeadline(now);
      }
      if (now >= this.#wakeAt) this.#wakeAt = Infinity;
      onTurn?.();

      // 4. idle, or yield under load
      if (out === 0 && inb === 0) {
        this.stats.waits++;
        const until = Math.min(deadline, this.#wakeAt);
        const wait = Math.max(0, Math.min(until - clock.now(), MAX_WAIT_MS));
        await io.wait(Math.ceil(wait));
        busySince = clock.now();
      } else if (clock.now() - busySince > MAX_BUSY_MS) {
        await io.wait(0);
        busySince = clock.now();
      }
    }
  }
}
