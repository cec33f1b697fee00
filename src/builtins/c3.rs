//! Stand-in (replaced by the CPython-exact C3).
#![allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MroError<C> {
    DuplicateBase(C),
    Inconsistent { bases: Vec<C> },
}
impl<C: Copy> MroError<C> {
    pub fn message(&self, name_of: impl Fn(C) -> String) -> String {
        match self {
            MroError::DuplicateBase(c) => format!("duplicate base class {}", name_of(*c)),
            MroError::Inconsistent { bases } => format!(
                "Cannot create a consistent method resolution\norder (MRO) for bases {}",
                bases
                    .iter()
                    .map(|c| name_of(*c))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}
pub fn c3_linearize<C: Copy + Eq>(
    bases: &[C],
    mro_of: impl Fn(C) -> Vec<C>,
) -> Result<Vec<C>, MroError<C>> {
    let mut seqs: Vec<Vec<C>> = bases.iter().map(|b| mro_of(*b)).collect();
    seqs.push(bases.to_vec());
    let mut out = Vec::new();
    loop {
        seqs.retain(|s| !s.is_empty());
        if seqs.is_empty() {
            return Ok(out);
        }
        let head = seqs
            .iter()
            .map(|s| s[0])
            .find(|h| !seqs.iter().any(|s| s[1..].contains(h)));
        let Some(h) = head else {
            return Err(MroError::Inconsistent {
                bases: seqs.iter().map(|s| s[0]).collect(),
            });
        };
        out.push(h);
        for s in &mut seqs {
            if s[0] == h {
                s.remove(0);
            }
        }
    }
}
