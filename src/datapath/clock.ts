/**
 * Time as the data path sees it: a monotonic clock for timers and the wall
 * clock for handshake timestamps. Only main.ts builds the real one; tests pass
 * their own.
 *
 * @module
 */

export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Unix time in milliseconds. */
  wall(): number;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wall: () => Date.now(),
};
