//! Cryptokey routing: longest-prefix match over IPv4 and IPv6 prefixes
//! (whitepaper §2). One path-compressed binary trie per family; a node
//! stores its prefix left-aligned in a `u128`, so both families share code.
//!
//! A node either carries a value (a prefix someone inserted) or is a branch
//! point with two children. Lookups walk at most one node per distinct
//! prefix length on the path, so 10^4 prefixes cost nothing to search.
//!
//! Changes cost the path too: removing a prefix mends only the nodes beside
//! it, and removing a value is free when none of its prefixes is left (a
//! count per value says so), so a table of tens of thousands of prefixes
//! changes one prefix at a time in linear time overall.

use crate::messages::Error;
use std::collections::BTreeMap;

const NONE: u32 = u32::MAX;

#[derive(Clone)]
struct Node<T> {
    /// The prefix, left-aligned, host bits zero.
    key: u128,
    /// Prefix length in bits (0..=128, or 0..=32 in the IPv4 trie).
    len: u8,
    child: [u32; 2],
    value: Option<T>,
}

/// One family's trie: nodes live in an arena, freed slots are reused.
#[derive(Clone)]
struct Trie<T> {
    nodes: Vec<Node<T>>,
    free: Vec<u32>,
    root: u32,
    /// Address width in bits: 32 or 128.
    width: u8,
}

/// Where a node is linked from.
#[derive(Clone, Copy)]
enum Link {
    Root,
    Child(u32, usize),
}

/// A map from IP prefixes to values (peer ids), answering longest-prefix
/// lookups for IPv4 and IPv6 addresses.
#[derive(Clone)]
pub struct AllowedIps<T: Copy + Ord> {
    v4: Trie<T>,
    v6: Trie<T>,
    /// How many prefixes map to each value (absent: none).
    counts: BTreeMap<T, u32>,
}

impl<T: Copy + Ord> Default for AllowedIps<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy + Ord> AllowedIps<T> {
    /// An empty table.
    pub fn new() -> Self {
        AllowedIps {
            v4: Trie::new(32),
            v6: Trie::new(128),
            counts: BTreeMap::new(),
        }
    }

    /// Maps `addr/prefix` to `value`. `addr` is 4 or 16 bytes; its host bits
    /// are ignored. A prefix already present moves to the new value.
    pub fn insert(&mut self, addr: &[u8], prefix: u8, value: T) -> Result<(), Error> {
        let (trie, key) = self.trie_mut(addr).ok_or(Error::InvalidArgument)?;
        if prefix > trie.width {
            return Err(Error::BadPrefix);
        }
        let before = trie.insert(key & mask(prefix), prefix, value);
        if before != Some(value) {
            *self.counts.entry(value).or_insert(0) += 1;
            if let Some(old) = before {
                self.uncount(old);
            }
        }
        Ok(())
    }

    /// Removes `addr/prefix` if it maps to `value`; returns whether it did.
    /// Other prefixes, longer or shorter, stay.
    pub fn remove(&mut self, addr: &[u8], prefix: u8, value: T) -> Result<bool, Error> {
        let (trie, key) = self.trie_mut(addr).ok_or(Error::InvalidArgument)?;
        if prefix > trie.width {
            return Err(Error::BadPrefix);
        }
        let removed = trie.remove(key & mask(prefix), prefix, value);
        if removed {
            self.uncount(value);
        }
        Ok(removed)
    }

    /// Removes every prefix that maps to `value`: a walk of the whole table,
    /// unless no prefix is left to it.
    pub fn remove_value(&mut self, value: T) {
        if self.counts.remove(&value).is_none() {
            return;
        }
        self.v4.remove_value(value);
        self.v6.remove_value(value);
    }

    fn uncount(&mut self, value: T) {
        if let Some(n) = self.counts.get_mut(&value) {
            *n -= 1;
            if *n == 0 {
                self.counts.remove(&value);
            }
        }
    }

    /// The value of the longest prefix containing `addr` (4 or 16 bytes).
    pub fn lookup(&self, addr: &[u8]) -> Option<T> {
        match addr.len() {
            4 => self.v4.lookup(key_of(addr)),
            16 => self.v6.lookup(key_of(addr)),
            _ => None,
        }
    }

    /// Every prefix mapped to `value`, as (address bytes, prefix length):
    /// IPv4 first, each family in trie order.
    pub fn prefixes_of(&self, value: T) -> Vec<(Vec<u8>, u8)> {
        let mut out = Vec::new();
        self.v4.collect(value, 4, &mut out);
        self.v6.collect(value, 16, &mut out);
        out
    }

    /// Removes everything.
    pub fn clear(&mut self) {
        self.v4 = Trie::new(32);
        self.v6 = Trie::new(128);
        self.counts.clear();
    }

    fn trie_mut(&mut self, addr: &[u8]) -> Option<(&mut Trie<T>, u128)> {
        match addr.len() {
            4 => Some((&mut self.v4, key_of(addr))),
            16 => Some((&mut self.v6, key_of(addr))),
            _ => None,
        }
    }
}

/// The address as a left-aligned 128-bit key.
fn key_of(addr: &[u8]) -> u128 {
    let mut bytes = [0u8; 16];
    bytes[..addr.len()].copy_from_slice(addr);
    u128::from_be_bytes(bytes)
}

/// The top `len` bits set.
fn mask(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - len as u32)
    }
}

/// Bit `index` of `key`, counting from the most significant.
fn bit(key: u128, index: u8) -> usize {
    ((key >> (127 - index as u32)) & 1) as usize
}

/// Length of the common prefix of two keys, at most `limit`.
fn common_len(a: u128, b: u128, limit: u8) -> u8 {
    ((a ^ b).leading_zeros() as u8).min(limit)
}

impl<T: Copy + Ord> Trie<T> {
    fn new(width: u8) -> Self {
        Trie {
            nodes: Vec::new(),
            free: Vec::new(),
            root: NONE,
            width,
        }
    }

    fn get(&self, link: Link) -> u32 {
        match link {
            Link::Root => self.root,
            Link::Child(n, b) => self.nodes[n as usize].child[b],
        }
    }

    fn set(&mut self, link: Link, target: u32) {
        match link {
            Link::Root => self.root = target,
            Link::Child(n, b) => self.nodes[n as usize].child[b] = target,
        }
    }

    fn alloc(&mut self, key: u128, len: u8, value: Option<T>) -> u32 {
        let node = Node {
            key,
            len,
            child: [NONE, NONE],
            value,
        };
        match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    fn release(&mut self, i: u32) {
        let node = &mut self.nodes[i as usize];
        node.value = None;
        node.child = [NONE, NONE];
        self.free.push(i);
    }

    /// `key` is already masked to `len`. Returns the value the prefix had.
    fn insert(&mut self, key: u128, len: u8, value: T) -> Option<T> {
        let mut link = Link::Root;
        loop {
            let at = self.get(link);
            if at == NONE {
                let leaf = self.alloc(key, len, Some(value));
                self.set(link, leaf);
                return None;
            }
            let (node_key, node_len) = {
                let n = &self.nodes[at as usize];
                (n.key, n.len)
            };
            let common = common_len(key, node_key, len.min(node_len));
            if common == node_len {
                if len == node_len {
                    // The same prefix: it moves to the new value.
                    return self.nodes[at as usize].value.replace(value);
                }
                // The node is a shorter prefix of ours: descend.
                link = Link::Child(at, bit(key, node_len));
                continue;
            }
            if common == len {
                // Ours is a shorter prefix of the node: it goes above it.
                let above = self.alloc(key, len, Some(value));
                self.nodes[above as usize].child[bit(node_key, len)] = at;
                self.set(link, above);
                return None;
            }
            // They part ways at bit `common`: a branch point holds both.
            let branch = self.alloc(key & mask(common), common, None);
            let leaf = self.alloc(key, len, Some(value));
            self.nodes[branch as usize].child[bit(node_key, common)] = at;
            self.nodes[branch as usize].child[bit(key, common)] = leaf;
            self.set(link, branch);
            return None;
        }
    }

    fn lookup(&self, key: u128) -> Option<T> {
        let mut best = None;
        let mut at = self.root;
        while at != NONE {
            let n = &self.nodes[at as usize];
            if (key ^ n.key) & mask(n.len) != 0 {
                break;
            }
            if n.value.is_some() {
                best = n.value;
            }
            if n.len >= self.width {
                break;
            }
            at = n.child[bit(key, n.len)];
        }
        best
    }

    /// `key` is already masked to `len`. Only the node and its parent can
    /// lose their reason to be (a value, or two children), so only they are
    /// mended: no walk of the trie.
    fn remove(&mut self, key: u128, len: u8, value: T) -> bool {
        let mut parent: Option<Link> = None;
        let mut link = Link::Root;
        loop {
            let at = self.get(link);
            if at == NONE {
                return false;
            }
            let n = &self.nodes[at as usize];
            if n.len > len || (key ^ n.key) & mask(n.len) != 0 {
                return false;
            }
            if n.len == len {
                if n.value != Some(value) {
                    return false;
                }
                self.nodes[at as usize].value = None;
                self.collapse(link);
                if let Some(p) = parent {
                    self.collapse(p);
                }
                return true;
            }
            parent = Some(link);
            link = Link::Child(at, bit(key, n.len));
        }
    }

    /// The node at `link`, if it has no value and fewer than two children,
    /// leaves the trie; its one child, or nothing, takes its place.
    fn collapse(&mut self, link: Link) {
        let at = self.get(link);
        if at == NONE || self.nodes[at as usize].value.is_some() {
            return;
        }
        let only = match self.nodes[at as usize].child {
            [NONE, NONE] => NONE,
            [only, NONE] | [NONE, only] => only,
            _ => return,
        };
        self.release(at);
        self.set(link, only);
    }

    fn remove_value(&mut self, value: T) {
        for n in self.nodes.iter_mut() {
            if n.value == Some(value) {
                n.value = None;
            }
        }
        self.root = self.prune(self.root);
    }

    /// Drops value-less nodes with fewer than two children below `at`;
    /// returns what now stands in `at`'s place.
    fn prune(&mut self, at: u32) -> u32 {
        if at == NONE {
            return NONE;
        }
        let [left, right] = self.nodes[at as usize].child;
        let left = self.prune(left);
        let right = self.prune(right);
        self.nodes[at as usize].child = [left, right];
        if self.nodes[at as usize].value.is_some() {
            return at;
        }
        match (left, right) {
            (NONE, NONE) => {
                self.release(at);
                NONE
            }
            (only, NONE) | (NONE, only) => {
                self.release(at);
                only
            }
            _ => at,
        }
    }

    fn collect(&self, value: T, bytes: usize, out: &mut Vec<(Vec<u8>, u8)>) {
        let mut stack = vec![self.root];
        while let Some(at) = stack.pop() {
            if at == NONE {
                continue;
            }
            let n = &self.nodes[at as usize];
            if n.value == Some(value) {
                out.push((n.key.to_be_bytes()[..bytes].to_vec(), n.len));
            }
            stack.push(n.child[1]);
            stack.push(n.child[0]);
        }
    }

    #[cfg(test)]
    fn live_nodes(&self) -> usize {
        self.nodes.len() - self.free.len()
    }

    /// Every node reachable from the root has a value or two children, and
    /// the reachable nodes are exactly the live ones.
    #[cfg(test)]
    fn assert_shape(&self) {
        let mut seen = 0;
        let mut stack = vec![self.root];
        while let Some(at) = stack.pop() {
            if at == NONE {
                continue;
            }
            seen += 1;
            let n = &self.nodes[at as usize];
            assert!(
                n.value.is_some() || (n.child[0] != NONE && n.child[1] != NONE),
                "a node with no value and fewer than two children"
            );
            stack.extend(n.child);
        }
        assert_eq!(seen, self.live_nodes(), "unreachable nodes");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rand::Rand;

    /// The deliberately naive reference: a list scanned from end to start.
    struct Naive {
        entries: Vec<(usize, u128, u8, u32)>,
    }

    impl Naive {
        fn insert(&mut self, addr: &[u8], prefix: u8, value: u32) {
            let key = key_of(addr) & mask(prefix);
            self.entries
                .retain(|&(f, k, p, _)| !(f == addr.len() && k == key && p == prefix));
            self.entries.push((addr.len(), key, prefix, value));
        }
        fn lookup(&self, addr: &[u8]) -> Option<u32> {
            let key = key_of(addr);
            let mut best: Option<(u8, u32)> = None;
            for &(f, k, p, v) in &self.entries {
                if f == addr.len() && key & mask(p) == k && best.map_or(true, |(bp, _)| p > bp) {
                    best = Some((p, v));
                }
            }
            best.map(|(_, v)| v)
        }
        fn remove_value(&mut self, value: u32) {
            self.entries.retain(|e| e.3 != value);
        }
        fn remove(&mut self, addr: &[u8], prefix: u8, value: u32) -> bool {
            let key = key_of(addr) & mask(prefix);
            let before = self.entries.len();
            self.entries.retain(|&(f, k, p, v)| {
                !(f == addr.len() && k == key && p == prefix && v == value)
            });
            self.entries.len() != before
        }
    }

    fn v4(a: u8, b: u8, c: u8, d: u8) -> [u8; 4] {
        [a, b, c, d]
    }

    #[test]
    fn longest_prefix_wins() {
        let mut t = AllowedIps::new();
        t.insert(&v4(10, 0, 0, 0), 8, 1).unwrap();
        t.insert(&v4(10, 1, 0, 0), 16, 2).unwrap();
        t.insert(&v4(10, 1, 2, 3), 32, 3).unwrap();
        t.insert(&v4(0, 0, 0, 0), 0, 4).unwrap();
        assert_eq!(t.lookup(&v4(10, 9, 9, 9)), Some(1));
        assert_eq!(t.lookup(&v4(10, 1, 9, 9)), Some(2));
        assert_eq!(t.lookup(&v4(10, 1, 2, 3)), Some(3));
        assert_eq!(t.lookup(&v4(10, 1, 2, 4)), Some(2));
        assert_eq!(t.lookup(&v4(192, 168, 0, 1)), Some(4));
        let mut v6 = [0u8; 16];
        v6[0] = 0x20;
        v6[1] = 0x01;
        assert_eq!(t.lookup(&v6), None, "families are separate");
    }

    #[test]
    fn host_bits_are_masked() {
        let mut t = AllowedIps::new();
        t.insert(&v4(192, 168, 7, 99), 24, 1).unwrap();
        assert_eq!(t.lookup(&v4(192, 168, 7, 1)), Some(1));
        assert_eq!(t.prefixes_of(1), vec![(vec![192, 168, 7, 0], 24)]);
    }

    #[test]
    fn reinserting_a_prefix_moves_it_to_the_new_value() {
        let mut t = AllowedIps::new();
        t.insert(&v4(10, 0, 0, 0), 24, 1).unwrap();
        t.insert(&v4(10, 0, 0, 5), 24, 2).unwrap();
        assert_eq!(t.lookup(&v4(10, 0, 0, 1)), Some(2));
        assert!(t.prefixes_of(1).is_empty());
        t.remove_value(2);
        assert_eq!(t.lookup(&v4(10, 0, 0, 1)), None);
    }

    #[test]
    fn bad_lengths_and_prefixes_are_refused() {
        let mut t = AllowedIps::new();
        assert_eq!(t.insert(&[1, 2, 3], 8, 1), Err(Error::InvalidArgument));
        assert_eq!(t.insert(&v4(1, 2, 3, 4), 33, 1), Err(Error::BadPrefix));
        assert_eq!(t.insert(&[0u8; 16], 129, 1), Err(Error::BadPrefix));
        assert!(t.insert(&[0u8; 16], 128, 1).is_ok());
        assert_eq!(t.lookup(&[1, 2, 3]), None);
    }

    #[test]
    fn remove_value_keeps_other_values_and_frees_nodes() {
        let mut t = AllowedIps::new();
        t.insert(&v4(10, 0, 0, 0), 8, 1).unwrap();
        t.insert(&v4(10, 1, 0, 0), 16, 2).unwrap();
        t.insert(&v4(10, 2, 0, 0), 16, 1).unwrap();
        t.insert(&v4(11, 0, 0, 0), 8, 2).unwrap();
        t.remove_value(1);
        assert_eq!(t.lookup(&v4(10, 1, 1, 1)), Some(2));
        assert_eq!(t.lookup(&v4(10, 2, 1, 1)), None);
        assert_eq!(t.lookup(&v4(10, 3, 1, 1)), None);
        assert_eq!(t.lookup(&v4(11, 3, 1, 1)), Some(2));
        t.remove_value(2);
        assert_eq!(t.v4.live_nodes(), 0);
        assert_eq!(t.v4.root, NONE);
    }

    #[test]
    fn removing_one_prefix_keeps_the_nested_ones_and_other_values() {
        let mut t = AllowedIps::new();
        t.insert(&v4(10, 0, 0, 0), 8, 1).unwrap();
        t.insert(&v4(10, 1, 0, 0), 16, 1).unwrap();
        t.insert(&v4(10, 1, 2, 0), 24, 2).unwrap();
        assert_eq!(
            t.remove(&v4(10, 1, 2, 0), 24, 1),
            Ok(false),
            "not its value"
        );
        assert_eq!(
            t.remove(&v4(10, 1, 0, 0), 24, 1),
            Ok(false),
            "not a prefix there"
        );
        assert_eq!(
            t.remove(&v4(10, 1, 9, 9), 16, 1),
            Ok(true),
            "host bits ignored"
        );
        assert_eq!(t.lookup(&v4(10, 1, 9, 9)), Some(1), "the /8 answers now");
        assert_eq!(t.lookup(&v4(10, 1, 2, 3)), Some(2));
        assert_eq!(t.remove(&v4(10, 0, 0, 0), 8, 1), Ok(true));
        assert_eq!(t.lookup(&v4(10, 1, 9, 9)), None);
        assert_eq!(t.prefixes_of(2), vec![(vec![10, 1, 2, 0], 24)]);
        assert_eq!(t.v4.live_nodes(), 1);
        assert_eq!(t.remove(&v4(1, 2, 3, 4), 33, 1), Err(Error::BadPrefix));
        assert_eq!(t.remove(&[1, 2, 3], 8, 1), Err(Error::InvalidArgument));
    }

    #[test]
    fn prefixes_of_lists_v4_then_v6() {
        let mut t = AllowedIps::new();
        let mut a6 = [0u8; 16];
        a6[0] = 0xfd;
        t.insert(&a6, 8, 7).unwrap();
        t.insert(&v4(10, 0, 0, 1), 32, 7).unwrap();
        t.insert(&v4(10, 0, 0, 2), 32, 8).unwrap();
        assert_eq!(
            t.prefixes_of(7),
            vec![(vec![10, 0, 0, 1], 32), (a6.to_vec(), 8)]
        );
    }

    fn random_addr(rand: &mut Rand, len: usize, pool: &[Vec<u8>]) -> Vec<u8> {
        // Half the time near an existing address, so prefixes nest and share.
        if !pool.is_empty() && rand.next() % 2 == 0 {
            let mut a = pool[(rand.next() % pool.len() as u64) as usize].clone();
            let i = (rand.next() % len as u64) as usize;
            a[i] ^= 1 << (rand.next() % 8);
            a
        } else {
            rand.bytes(len)
        }
    }

    fn random_against_naive(len: usize, seed: u64) {
        let mut rand = Rand(seed);
        let width = (len * 8) as u64;
        let mut t = AllowedIps::new();
        let mut naive = Naive {
            entries: Vec::new(),
        };
        let mut pool: Vec<Vec<u8>> = Vec::new();
        for _ in 0..2000 {
            let addr = random_addr(&mut rand, len, &pool);
            let prefix = (rand.next() % (width + 1)) as u8;
            let value = (rand.next() % 50) as u32;
            t.insert(&addr, prefix, value).unwrap();
            naive.insert(&addr, prefix, value);
            pool.push(addr);
        }
        for _ in 0..4 {
            for _ in 0..3000 {
                let addr = random_addr(&mut rand, len, &pool);
                assert_eq!(t.lookup(&addr), naive.lookup(&addr), "lookup {:?}", addr);
            }
            for value in 0..50u32 {
                let mut got = t.prefixes_of(value);
                let mut want: Vec<(Vec<u8>, u8)> = naive
                    .entries
                    .iter()
                    .filter(|e| e.3 == value)
                    .map(|e| (e.1.to_be_bytes()[..len].to_vec(), e.2))
                    .collect();
                got.sort();
                want.sort();
                assert_eq!(got, want, "prefixes of {}", value);
            }
            for _ in 0..10 {
                let value = (rand.next() % 50) as u32;
                t.remove_value(value);
                naive.remove_value(value);
            }
            // One prefix at a time: one that is there (maybe of another
            // value), and one that is near.
            for _ in 0..300 {
                let (addr, prefix, value) = if rand.next() % 2 == 0 && !naive.entries.is_empty() {
                    let e = naive.entries[(rand.next() % naive.entries.len() as u64) as usize];
                    let v = if rand.next() % 4 == 0 {
                        (e.3 + 1) % 50
                    } else {
                        e.3
                    };
                    (e.1.to_be_bytes()[..len].to_vec(), e.2, v)
                } else {
                    let addr = random_addr(&mut rand, len, &pool);
                    (
                        addr,
                        (rand.next() % (width + 1)) as u8,
                        (rand.next() % 50) as u32,
                    )
                };
                let want = naive.remove(&addr, prefix, value);
                assert_eq!(
                    t.remove(&addr, prefix, value),
                    Ok(want),
                    "remove {:?}/{}",
                    addr,
                    prefix
                );
            }
            for _ in 0..200 {
                let addr = random_addr(&mut rand, len, &pool);
                let prefix = (rand.next() % (width + 1)) as u8;
                let value = (rand.next() % 50) as u32;
                t.insert(&addr, prefix, value).unwrap();
                naive.insert(&addr, prefix, value);
            }
            t.v4.assert_shape();
            t.v6.assert_shape();
            for value in 0..50u32 {
                let want = naive.entries.iter().filter(|e| e.3 == value).count() as u32;
                assert_eq!(
                    t.counts.get(&value).copied().unwrap_or(0),
                    want,
                    "count of {}",
                    value
                );
            }
        }
        let trie = if len == 4 { &t.v4 } else { &t.v6 };
        assert!(trie.live_nodes() <= 2 * naive.entries.len());
    }

    #[test]
    fn random_v4_matches_naive_reference() {
        random_against_naive(4, 0x1234_5678_9abc_def1);
        random_against_naive(4, 0x0fed_cba9_8765_4321);
    }

    #[test]
    fn random_v6_matches_naive_reference() {
        random_against_naive(16, 0x5555_aaaa_3333_cccc);
        random_against_naive(16, 0x0123_4567_89ab_cdef);
    }

    #[test]
    fn fifty_thousand_prefixes_come_and_go_one_at_a_time_fast() {
        // Each removal once walked the whole trie: minutes for this.
        let mut t = AllowedIps::new();
        let start = std::time::Instant::now();
        for i in 0..50_000u32 {
            t.insert(&[10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 32, 1)
                .unwrap();
        }
        for i in 0..50_000u32 {
            let gone = t.remove(&[10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 32, 1);
            assert_eq!(gone, Ok(true));
        }
        // No prefix left to the value: removing it walks nothing.
        for _ in 0..50_000 {
            t.remove_value(1);
        }
        assert!(start.elapsed().as_secs_f64() < 2.0, "{:?}", start.elapsed());
        assert_eq!(t.v4.live_nodes(), 0);
        assert!(t.counts.is_empty());
    }

    #[test]
    fn ten_thousand_prefixes_look_up_fast() {
        let mut rand = Rand(42);
        let mut t = AllowedIps::new();
        for i in 0..10_000u32 {
            let a = rand.bytes(16);
            t.insert(&a, 32 + (rand.next() % 97) as u8, i).unwrap();
            let b = rand.bytes(4);
            t.insert(&b, 8 + (rand.next() % 25) as u8, i).unwrap();
        }
        let start = std::time::Instant::now();
        let mut hits = 0u32;
        for _ in 0..200_000 {
            if t.lookup(&rand.bytes(4)).is_some() {
                hits += 1;
            }
        }
        let elapsed = start.elapsed();
        assert!(hits > 0);
        assert!(
            elapsed.as_millis() < 2000,
            "200k lookups took {:?}",
            elapsed
        );
    }
}
