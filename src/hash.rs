//! Placeholder until the CPython-compatible hashing module lands (same API).
#![allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashSeed {
    Random,
    Fixed(u32),
}
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid hash seed {value:?}: expected \"random\" or an integer in 0..=4294967295")]
pub struct HashSeedError {
    pub value: String,
}
impl std::str::FromStr for HashSeed {
    type Err = HashSeedError;
    fn from_str(s: &str) -> Result<Self, HashSeedError> {
        if s == "random" {
            return Ok(HashSeed::Random);
        }
        s.parse::<u32>()
            .map(HashSeed::Fixed)
            .map_err(|_| HashSeedError { value: s.into() })
    }
}
pub struct HashSecret {
    k0: u64,
    k1: u64,
}
#[derive(Debug, thiserror::Error)]
pub enum HashSecretError {
    #[error("os: {0}")]
    Os(String),
}
impl HashSecret {
    pub fn new(seed: HashSeed) -> Result<HashSecret, HashSecretError> {
        match seed {
            HashSeed::Fixed(n) => Ok(HashSecret {
                k0: n as u64,
                k1: 0,
            }),
            HashSeed::Random => {
                let mut b = [0u8; 16];
                getrandom::fill(&mut b).map_err(|e| HashSecretError::Os(e.to_string()))?;
                Ok(HashSecret {
                    k0: u64::from_le_bytes(b[..8].try_into().unwrap()),
                    k1: u64::from_le_bytes(b[8..].try_into().unwrap()),
                })
            }
        }
    }
    pub fn keys(&self) -> (u64, u64) {
        (self.k0, self.k1)
    }
    pub fn wipe(&mut self) {
        self.k0 = 0;
        self.k1 = 0;
    }
    pub fn is_wiped(&self) -> bool {
        self.k0 == 0 && self.k1 == 0
    }
}
impl std::fmt::Debug for HashSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashSecret(..)")
    }
}
pub fn hash_str(_s: &HashSecret, _x: &str) -> i64 {
    0
}
impl Drop for HashSecret {
    fn drop(&mut self) {
        self.wipe()
    }
}
