//! RFC 6962 Merkle tree heads, kept as a compact range: the roots of the perfect
//! subtrees the records so far decompose into (largest first), so that appending a
//! record costs O(log n) and any tree head is one fold of them.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// The leaf hash of a record's line: SHA-256(0x00 || line).
pub fn leaf(line: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(line);
    h.finalize().into()
}

fn node(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// (subtree size, subtree root), sizes strictly decreasing powers of two.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frontier(Vec<(u64, Hash)>);

impl Frontier {
    pub fn push(&mut self, leaf: Hash) {
        self.0.push((1, leaf));
        while self.0.len() >= 2 && self.0[self.0.len() - 1].0 == self.0[self.0.len() - 2].0 {
            let (size, right) = self.0.pop().unwrap();
            let (_, left) = self.0.pop().unwrap();
            self.0.push((2 * size, node(&left, &right)));
        }
    }

    /// The tree head: RFC 6962 splits at the largest power of two below the size, so
    /// the head is the subtrees folded from the right.
    pub fn root(&self) -> Hash {
        let mut it = self.0.iter().rev();
        let Some((_, last)) = it.next() else {
            return Sha256::digest([]).into();
        };
        it.fold(*last, |acc, (_, left)| node(left, &acc))
    }

    pub fn root_hex(&self) -> String {
        crate::chain::hex(&self.root())
    }

    pub fn to_json(&self) -> serde_json::Value {
        self.0.iter().map(|(_, h)| serde_json::Value::from(crate::chain::hex(h))).collect()
    }

    /// Read back for a tree of `size` leaves: one hash per set bit of the size.
    pub fn from_json(v: &serde_json::Value, size: u64) -> Option<Frontier> {
        let hashes = v.as_array()?;
        let sizes: Vec<u64> = (0..64).rev().map(|b| 1u64 << b).filter(|s| size & s != 0).collect();
        if hashes.len() != sizes.len() {
            return None;
        }
        let mut out = Vec::new();
        for (s, h) in sizes.into_iter().zip(hashes) {
            let text = h.as_str()?;
            if text.len() != 64 {
                return None;
            }
            let mut hash = [0u8; 32];
            for (i, b) in hash.iter_mut().enumerate() {
                *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
            }
            out.push((s, hash));
        }
        Some(Frontier(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6962's definition, recursively.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Sha256::digest([]).into(),
            1 => leaves[0],
            n => {
                let k = 1 << (63 - (n as u64 - 1).leading_zeros());
                node(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn the_compact_range_gives_the_rfc_6962_head_at_every_size() {
        let leaves: Vec<Hash> = (0..70u32).map(|i| leaf(&i.to_le_bytes())).collect();
        let mut f = Frontier::default();
        assert_eq!(f.root(), mth(&[]));
        for n in 1..=leaves.len() {
            f.push(leaves[n - 1]);
            assert_eq!(f.root(), mth(&leaves[..n]), "size {n}");
            assert_eq!(Frontier::from_json(&f.to_json(), n as u64), Some(f.clone()));
        }
    }
}
