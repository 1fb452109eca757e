//! The receive-side replay window (whitepaper §5.4.6, RFC 6479).
//!
//! A ring of 128 words of 64 bits remembers which counters were seen. The
//! highest accepted counter moves the ring forward; a counter more than
//! `REPLAY_WINDOW` (8128) below it is too old. The ring is one word larger
//! than the window so that moving forward can clear whole words and still
//! keep every counter of the window.

use crate::messages::{REJECT_AFTER_MESSAGES, REPLAY_WINDOW};

const WORD_BITS: u64 = 64;
/// Words in the ring: the window plus one word of slack, a power of two.
const RING_WORDS: u64 = REPLAY_WINDOW / WORD_BITS + 1;

/// Counters seen on one receiving session key.
#[derive(Clone)]
pub struct ReplayWindow {
    ring: [u64; RING_WORDS as usize],
    /// One more than the highest accepted counter; 0 before the first.
    top: u64,
}

impl Default for ReplayWindow {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplayWindow {
    /// An empty window: every counter below `REJECT_AFTER_MESSAGES` is new.
    pub fn new() -> Self {
        ReplayWindow {
            ring: [0; RING_WORDS as usize],
            top: 0,
        }
    }

    /// Would `counter` be accepted? Changes nothing; use it before spending
    /// time on decryption, then call `update` once the packet authenticated.
    pub fn check(&self, counter: u64) -> bool {
        if !self.in_range(counter) {
            return false;
        }
        if counter >= self.top {
            return true;
        }
        let (word, bit) = position(counter);
        self.ring[word] & bit == 0
    }

    /// Marks `counter` as seen. Returns false (and changes nothing) when it
    /// was seen before, is too old, or is at or past `REJECT_AFTER_MESSAGES`.
    pub fn update(&mut self, counter: u64) -> bool {
        if !self.in_range(counter) {
            return false;
        }
        if counter >= self.top {
            self.advance(counter);
        }
        let (word, bit) = position(counter);
        if self.ring[word] & bit != 0 {
            return false;
        }
        self.ring[word] |= bit;
        true
    }

    /// The highest accepted counter, if any.
    pub fn highest(&self) -> Option<u64> {
        self.top.checked_sub(1)
    }

    fn in_range(&self, counter: u64) -> bool {
        // counter < REJECT_AFTER_MESSAGES, so the sum cannot overflow.
        counter < REJECT_AFTER_MESSAGES && counter + REPLAY_WINDOW + 1 >= self.top
    }

    /// Makes `counter` the highest: clears the words between the old
    /// highest and it (all of them when it jumps by a whole ring or more).
    fn advance(&mut self, counter: u64) {
        let new_word = counter / WORD_BITS;
        let old_word = match self.top.checked_sub(1) {
            Some(highest) => highest / WORD_BITS,
            None => {
                // Nothing seen yet: the ring is still all zero.
                self.top = counter + 1;
                return;
            }
        };
        let steps = (new_word - old_word).min(RING_WORDS);
        for step in 1..=steps {
            self.ring[((old_word + step) % RING_WORDS) as usize] = 0;
        }
        self.top = counter + 1;
    }
}

fn position(counter: u64) -> (usize, u64) {
    let word = (counter / WORD_BITS) % RING_WORDS;
    (word as usize, 1u64 << (counter % WORD_BITS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rand::Rand;
    use std::collections::HashSet;

    const W: u64 = REPLAY_WINDOW;
    const R: u64 = REJECT_AFTER_MESSAGES;

    /// A numbered table of (counter, accepted?) applied in order to one window.
    #[test]
    fn numbered_cases_in_order() {
        let cases: &[(u64, bool)] = &[
            /* 1 */ (0, true),
            /* 2 */ (0, false),
            /* 3 */ (1, true),
            /* 4 */ (1, false),
            /* 5 */ (9, true),
            /* 6 */ (8, true),
            /* 7 */ (7, true),
            /* 8 */ (7, false),
            /* 9 */ (2, true),
            /* 10 */ (9, false),
            // Window edges: highest becomes W + 10.
            /* 11 */ (W + 10, true),
            /* 12 */ (10, true), // exactly W below the highest
            /* 13 */ (10, false),
            /* 14 */ (9, false), // one past the edge, seen before anyway
            /* 15 */ (3, false), // unseen but too old
            /* 16 */ (11, true),
            /* 17 */ (W + 9, true),
            /* 18 */ (W + 9, false),
            // Move by one: the edge moves by one.
            /* 19 */ (W + 11, true),
            /* 20 */ (11, false), // now W + 0 below: in range, but seen
            /* 21 */ (12, true), // W - 1 below
            /* 22 */ (10, false), // W + 1 below: too old
            // A far jump clears the whole ring.
            /* 23 */ (4 * W, true),
            /* 24 */ (4 * W - W, true),
            /* 25 */ (4 * W - W - 1, false),
            /* 26 */ (W + 11, false),
            /* 27 */ (4 * W - 1, true),
            /* 28 */ (4 * W - 64, true),
            /* 29 */ (4 * W - 64, false),
            /* 30 */ (4 * W + 1, true),
            /* 31 */ (4 * W - W, false), // now W + 1 below
            // A jump of exactly one ring of words, then less than one.
            /* 32 */
            (4 * W + 1 + 128 * 64, true),
            /* 33 */ (4 * W + 1, false),
            /* 34 */ (4 * W + 1 + 128 * 64 - 1, true),
            /* 35 */ (4 * W + 1 + 128 * 64 + 63, true),
            /* 36 */ (4 * W + 1 + 128 * 64 + 63 - W, true),
            /* 37 */ (4 * W + 1 + 128 * 64 - 1, false),
            // Near the end of the counter space.
            /* 38 */ (R, false),
            /* 39 */ (R + 1, false),
            /* 40 */ (u64::MAX, false),
            /* 41 */ (R - 1, true),
            /* 42 */ (R - 1, false),
            /* 43 */ (R, false),
            /* 44 */ (R - 2, true),
            /* 45 */ (R - 1 - W, true),
            /* 46 */ (R - 2 - W, false),
            /* 47 */ (R - 3, true),
            /* 48 */ (0, false),
        ];
        let mut window = ReplayWindow::new();
        for (i, &(counter, accepted)) in cases.iter().enumerate() {
            let checked = window.check(counter);
            let updated = window.update(counter);
            assert_eq!(
                updated,
                accepted,
                "case {}: counter {} should be {}",
                i + 1,
                counter,
                if accepted { "accepted" } else { "rejected" }
            );
            assert_eq!(
                checked,
                accepted,
                "case {}: check disagrees with update",
                i + 1
            );
        }
    }

    #[test]
    fn check_changes_nothing() {
        let mut window = ReplayWindow::new();
        assert!(window.check(5));
        assert!(window.check(5));
        assert_eq!(window.highest(), None);
        assert!(window.update(5));
        assert!(!window.check(5));
        assert_eq!(window.highest(), Some(5));
    }

    #[test]
    fn first_counter_may_be_large() {
        let mut window = ReplayWindow::new();
        assert!(window.update(1_000_000));
        assert!(window.update(1_000_000 - W));
        assert!(!window.update(1_000_000 - W - 1));
        assert!(!window.update(1_000_000));
    }

    /// Every counter of the full window is accepted once, in any order.
    #[test]
    fn whole_window_accepted_backwards() {
        let mut window = ReplayWindow::new();
        let top = 3 * W + 17;
        assert!(window.update(top));
        for c in (top - W..top).rev() {
            assert!(window.update(c), "counter {}", c);
        }
        for c in top - W..=top {
            assert!(!window.update(c), "counter {} twice", c);
        }
    }

    /// The naive model: a set of everything seen and the highest counter.
    struct Model {
        seen: HashSet<u64>,
        highest: Option<u64>,
    }

    impl Model {
        fn update(&mut self, c: u64) -> bool {
            if c >= R || self.seen.contains(&c) {
                return false;
            }
            if let Some(h) = self.highest {
                if c < h && h - c > W {
                    return false;
                }
            }
            self.seen.insert(c);
            self.highest = Some(self.highest.map_or(c, |h| h.max(c)));
            true
        }
    }

    #[test]
    fn random_sequences_match_naive_model() {
        let mut rand = Rand(0x9e37_79b9_7f4a_7c15);
        for round in 0..40 {
            let base = if round % 4 == 3 { R - 40_000 } else { 0 };
            let mut window = ReplayWindow::new();
            let mut model = Model {
                seen: HashSet::new(),
                highest: None,
            };
            let mut cursor = base;
            for step in 0..5000 {
                let r = rand.next();
                let counter = match r % 8 {
                    // mostly near the cursor, sometimes behind or ahead
                    0..=3 => cursor.saturating_add((r >> 8) % 64),
                    4 => cursor.saturating_sub((r >> 8) % (W + 200)),
                    5 => cursor.saturating_add((r >> 8) % (3 * W)),
                    6 => cursor.saturating_sub((r >> 8) % 64),
                    _ => base + (r >> 8) % 200_000,
                };
                let expected = model.update(counter);
                assert_eq!(
                    window.check(counter),
                    expected,
                    "round {} step {} check {}",
                    round,
                    step,
                    counter
                );
                assert_eq!(
                    window.update(counter),
                    expected,
                    "round {} step {} update {}",
                    round,
                    step,
                    counter
                );
                if expected && counter > cursor {
                    cursor = counter;
                }
            }
        }
    }
}
