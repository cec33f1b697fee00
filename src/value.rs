//! The NaN-boxed 64-bit [`Value`].
//!
//! A value is one `u64`. Floats are stored as themselves; every other value lives in the
//! negative quiet-NaN space, which no float produced by the runtime occupies (all NaNs are
//! canonicalized to the positive quiet NaN `0x7ff8_0000_0000_0000`):
//!
//! ```text
//! 63        51 50 49 48 47                                                0
//! 1111111111111 0  t  t  payload (48 bits)          t = 01 small int (two's complement)
//!                                                   t = 10 bool (0 / 1)
//!                                                   t = 11 singleton (None, NotImplemented,
//!                                                          Ellipsis)
//! 1111111111111 1  kind(4) | slot(24) | tag(5) | version(17)        object reference
//! ```
//!
//! An object reference is a compact handle, not an address: `kind` says which table of the
//! runtime the object lives in, `slot` is its index there, and the 22 check bits (`tag`,
//! `version`) are compared with the slot's current stamp when the value is resolved. Resolving
//! never casts an integer to a pointer; a value that fails the check is rejected with an error.
//!
//! # Limits (documented, checked)
//!
//! * Small ints cover `-2^47 ..= 2^47 - 1` ([`SMALL_INT_MIN`], [`SMALL_INT_MAX`]); ints
//!   outside that range are big-int heap objects ([`Kind::Int`]).
//! * At most 2^24 (16,777,216) objects of one kind live at once in one runtime; allocation
//!   beyond that raises `MemoryError`.
//! * `tag` is the runtime's identity modulo 32: a value from any of the 31 runtimes created
//!   before or after this one (for example the previous runtime of a test harness that
//!   re-initializes) never matches. Runtimes whose identities are equal modulo 32 are told
//!   apart by `version`, which starts at a per-runtime offset derived from the runtime's
//!   identity, so a value from such a runtime is accepted only if its 17-bit version equals
//!   the live slot's (about 1 in 131,072 for unrelated workloads; see the README for the
//!   exact condition); even then it resolves to a live object of the receiving runtime, never
//!   to freed memory.
//! * `version` is the heap slot's pool version (plus the runtime's offset), bumped each time
//!   the slot is freed and cycling through `1..2^17` (slots are never retired, so a runtime
//!   can allocate for ever): within one runtime a stale value is rejected for the next
//!   `2^17 - 2` (131,070) reuses of its slot; after that it may resolve to the live object
//!   of the same kind in that slot, never to freed memory.

use std::fmt;

const PREFIX: u64 = 0xFFF8_0000_0000_0000;
const OBJ_BIT: u64 = 1 << 50;
const SUBTAG_SHIFT: u32 = 48;
const SUBTAG_MASK: u64 = 0b11 << SUBTAG_SHIFT;
const PAYLOAD_MASK: u64 = (1 << 48) - 1;
const ST_INT: u64 = 1;
const ST_BOOL: u64 = 2;
const ST_SINGLETON: u64 = 3;
const CANONICAL_NAN: u64 = 0x7FF8_0000_0000_0000;

/// Smallest small int.
pub const SMALL_INT_MIN: i64 = -(1 << 47);
/// Largest small int.
pub const SMALL_INT_MAX: i64 = (1 << 47) - 1;
/// Number of slots addressable per object kind.
pub const MAX_SLOTS: u32 = 1 << 24;

/// Bits of the check field (tag and version) of an object reference.
pub const STAMP_BITS: u32 = 22;
const STAMP_MASK: u64 = (1 << STAMP_BITS) - 1;
const SLOT_SHIFT: u32 = STAMP_BITS;
const KIND_SHIFT: u32 = STAMP_BITS + 24;

/// Which table of a runtime an object reference points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// `str`.
    Str = 0,
    /// `bytes`.
    Bytes = 1,
    /// `tuple`.
    Tuple = 2,
    /// `list`.
    List = 3,
    /// `dict`.
    Dict = 4,
    /// A class (builtin or user); classes live as long as their runtime.
    Type = 5,
    /// A module.
    Module = 6,
    /// An exception instance.
    Exception = 7,
    /// A native function; these live as long as their runtime.
    Function = 8,
    /// A bound method (a function and its `self`).
    Method = 9,
    /// An instance of a user class.
    Instance = 10,
    /// A big int (beyond the small-int range).
    Int = 11,
}

impl Kind {
    /// Every kind, in discriminant order.
    pub const ALL: [Kind; 12] = [
        Kind::Str,
        Kind::Bytes,
        Kind::Tuple,
        Kind::List,
        Kind::Dict,
        Kind::Type,
        Kind::Module,
        Kind::Exception,
        Kind::Function,
        Kind::Method,
        Kind::Instance,
        Kind::Int,
    ];

    fn from_bits(b: u64) -> Option<Kind> {
        Kind::ALL.get(b as usize).copied()
    }
}

/// The singletons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Singleton {
    None = 0,
    NotImplemented = 1,
    Ellipsis = 2,
}

/// A decoded object reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjRef {
    /// The table.
    pub kind: Kind,
    /// The slot in that table (below [`MAX_SLOTS`]).
    pub slot: u32,
    /// The check bits (tag and version), compared with the slot's stamp.
    pub stamp: u32,
}

/// A value as a Rust enum (see [`Value::unpack`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unpacked {
    /// A float (NaN is always the canonical NaN).
    Float(f64),
    /// A small int.
    Int(i64),
    /// A bool.
    Bool(bool),
    /// `None`.
    None,
    /// `NotImplemented`.
    NotImplemented,
    /// `Ellipsis`.
    Ellipsis,
    /// A reference to an object of some runtime.
    Obj(ObjRef),
}

/// A NaN-boxed runtime value (see the module docs for the layout).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Value(u64);

impl Value {
    /// `None`.
    pub const NONE: Value = Value::singleton(Singleton::None);
    /// `NotImplemented`.
    pub const NOT_IMPLEMENTED: Value = Value::singleton(Singleton::NotImplemented);
    /// `Ellipsis`.
    pub const ELLIPSIS: Value = Value::singleton(Singleton::Ellipsis);
    /// `True`.
    pub const TRUE: Value = Value(PREFIX | (ST_BOOL << SUBTAG_SHIFT) | 1);
    /// `False`.
    pub const FALSE: Value = Value(PREFIX | (ST_BOOL << SUBTAG_SHIFT));

    const fn singleton(s: Singleton) -> Value {
        Value(PREFIX | (ST_SINGLETON << SUBTAG_SHIFT) | s as u64)
    }

    /// A float; every NaN becomes the canonical NaN.
    #[inline]
    pub fn float(f: f64) -> Value {
        if f.is_nan() {
            Value(CANONICAL_NAN)
        } else {
            Value(f.to_bits())
        }
    }

    /// A small int, or `None` outside [`SMALL_INT_MIN`]`..=`[`SMALL_INT_MAX`].
    #[inline]
    pub fn int(i: i64) -> Option<Value> {
        if (SMALL_INT_MIN..=SMALL_INT_MAX).contains(&i) {
            Some(Value(
                PREFIX | (ST_INT << SUBTAG_SHIFT) | (i as u64 & PAYLOAD_MASK),
            ))
        } else {
            None
        }
    }

    /// A bool.
    #[inline]
    pub const fn bool(b: bool) -> Value {
        if b { Value::TRUE } else { Value::FALSE }
    }

    /// An object reference.
    ///
    /// # Panics
    /// If `slot >= MAX_SLOTS` or `stamp` has more than [`STAMP_BITS`] bits (callers allocate
    /// slots and stamps within those bounds).
    #[inline]
    pub fn object(r: ObjRef) -> Value {
        assert!(r.slot < MAX_SLOTS && u64::from(r.stamp) <= STAMP_MASK);
        Value(
            PREFIX
                | OBJ_BIT
                | ((r.kind as u64) << KIND_SHIFT)
                | (u64::from(r.slot) << SLOT_SHIFT)
                | u64::from(r.stamp),
        )
    }

    /// The raw bits (for the C ABI).
    #[inline]
    pub const fn to_bits(self) -> u64 {
        self.0
    }

    /// Rebuilds a value from raw bits, if they are a valid encoding. (An object reference
    /// that decodes is still checked against its runtime when it is resolved.)
    #[inline]
    pub fn from_bits(bits: u64) -> Option<Value> {
        let v = Value(bits);
        v.decode().map(|_| v)
    }

    fn decode(self) -> Option<Unpacked> {
        let b = self.0;
        if b & PREFIX != PREFIX {
            let f = f64::from_bits(b);
            if f.is_nan() && b != CANONICAL_NAN {
                return None;
            }
            return Some(Unpacked::Float(f));
        }
        if b & OBJ_BIT != 0 {
            let kind = Kind::from_bits((b >> KIND_SHIFT) & 0xF)?;
            return Some(Unpacked::Obj(ObjRef {
                kind,
                slot: ((b >> SLOT_SHIFT) & (u64::from(MAX_SLOTS) - 1)) as u32,
                stamp: (b & STAMP_MASK) as u32,
            }));
        }
        let payload = b & PAYLOAD_MASK;
        match (b & SUBTAG_MASK) >> SUBTAG_SHIFT {
            ST_INT => Some(Unpacked::Int(((payload << 16) as i64) >> 16)),
            ST_BOOL => match payload {
                0 => Some(Unpacked::Bool(false)),
                1 => Some(Unpacked::Bool(true)),
                _ => None,
            },
            ST_SINGLETON => match payload {
                0 => Some(Unpacked::None),
                1 => Some(Unpacked::NotImplemented),
                2 => Some(Unpacked::Ellipsis),
                _ => None,
            },
            _ => None,
        }
    }

    /// The value as an enum. Values are only built through the constructors above (or
    /// checked by [`from_bits`](Self::from_bits)), so this always decodes.
    #[inline]
    pub fn unpack(self) -> Unpacked {
        self.decode().unwrap_or(Unpacked::None)
    }

    /// The object reference, if this is one.
    #[inline]
    pub fn as_obj(self) -> Option<ObjRef> {
        match self.unpack() {
            Unpacked::Obj(r) => Some(r),
            _ => None,
        }
    }

    /// The fields of the object reference `bits` encodes, its kind as the raw 4-bit field
    /// (which may be beyond the last [`Kind`]): a shift and a compare, for the C ABI's held
    /// path, which starts from raw bits. `None` if the bits are no object reference.
    #[inline(always)]
    pub fn obj_fields(bits: u64) -> Option<(u32, u32, u32)> {
        // PREFIX and OBJ_BIT are the 14 bits above the kind.
        const HEAD: u64 = (PREFIX | OBJ_BIT) >> (KIND_SHIFT + 4);
        if bits >> (KIND_SHIFT + 4) != HEAD {
            return None;
        }
        Some((
            ((bits >> KIND_SHIFT) & 0xF) as u32,
            ((bits >> SLOT_SHIFT) & (u64::from(MAX_SLOTS) - 1)) as u32,
            (bits & STAMP_MASK) as u32,
        ))
    }

    /// Whether `bits` are a valid encoding of a value that is not an object reference (a
    /// float, small int, bool or singleton: nothing to look up).
    #[inline(always)]
    pub fn is_immediate_bits(bits: u64) -> bool {
        matches!(Value(bits).decode(), Some(u) if !matches!(u, Unpacked::Obj(_)))
    }

    /// The slot and stamp of an object reference of kind `kind` (a mask and a compare: the
    /// fast path of resolving a class or function value).
    #[inline(always)]
    pub fn obj_of_kind(self, kind: Kind) -> Option<(u32, u32)> {
        const HEAD: u64 = PREFIX | OBJ_BIT | (0xF << KIND_SHIFT);
        if self.0 & HEAD != PREFIX | OBJ_BIT | ((kind as u64) << KIND_SHIFT) {
            return None;
        }
        Some((
            ((self.0 >> SLOT_SHIFT) & (u64::from(MAX_SLOTS) - 1)) as u32,
            (self.0 & STAMP_MASK) as u32,
        ))
    }

    /// The small int, if this is one (bools are not ints here).
    #[inline]
    pub fn as_int(self) -> Option<i64> {
        match self.unpack() {
            Unpacked::Int(i) => Some(i),
            _ => None,
        }
    }

    /// The float, if this is one.
    #[inline]
    pub fn as_float(self) -> Option<f64> {
        match self.unpack() {
            Unpacked::Float(f) => Some(f),
            _ => None,
        }
    }

    /// Whether this is `None`.
    #[inline]
    pub fn is_none(self) -> bool {
        self == Value::NONE
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.unpack() {
            Unpacked::Obj(r) => write!(f, "Value({:?}#{}@{:#x})", r.kind, r.slot, r.stamp),
            u => write!(f, "Value({u:?})"),
        }
    }
}

/// Bits of a stamp's runtime tag (the runtime identity modulo 32).
pub const TAG_BITS: u32 = 5;
/// Bits of a stamp's version (the heap slot's pool version plus the runtime's offset).
pub const VERSION_BITS: u32 = STAMP_BITS - TAG_BITS;
/// Mask of a stamp's version.
pub(crate) const VERSION_MASK: u32 = (1 << VERSION_BITS) - 1;

/// The 5-bit runtime tag and 17-bit version starting offset of a runtime identity.
pub(crate) fn runtime_stamp_parts(runtime: u64) -> (u32, u32) {
    // splitmix64 finalizer: consecutive identities get unrelated version offsets.
    let mut z = runtime.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    ((runtime % (1 << TAG_BITS)) as u32, z as u32 & VERSION_MASK)
}

/// A stamp from a runtime tag and a version (taken modulo `2^VERSION_BITS`).
#[inline]
pub(crate) fn stamp(tag: u32, version: u32) -> u32 {
    (tag << VERSION_BITS) | (version & VERSION_MASK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_decode() {
        assert_eq!(Value::NONE.unpack(), Unpacked::None);
        assert_eq!(Value::TRUE.unpack(), Unpacked::Bool(true));
        assert_eq!(Value::FALSE.unpack(), Unpacked::Bool(false));
        assert_eq!(Value::ELLIPSIS.unpack(), Unpacked::Ellipsis);
        assert_eq!(Value::NOT_IMPLEMENTED.unpack(), Unpacked::NotImplemented);
    }

    #[test]
    fn int_limits() {
        assert_eq!(
            Value::int(SMALL_INT_MAX).unwrap().as_int(),
            Some(SMALL_INT_MAX)
        );
        assert_eq!(
            Value::int(SMALL_INT_MIN).unwrap().as_int(),
            Some(SMALL_INT_MIN)
        );
        assert_eq!(Value::int(-1).unwrap().as_int(), Some(-1));
        assert!(Value::int(SMALL_INT_MAX + 1).is_none());
        assert!(Value::int(SMALL_INT_MIN - 1).is_none());
    }

    #[test]
    fn nans_are_canonical_and_foreign_nans_rejected() {
        let v = Value::float(f64::from_bits(0xFFF8_0000_0000_0001));
        assert_eq!(v.to_bits(), CANONICAL_NAN);
        assert!(Value::from_bits(0x7FF0_0000_0000_0001).is_none());
        assert!(Value::from_bits(PREFIX).is_none());
        assert_eq!(
            Value::from_bits(f64::NEG_INFINITY.to_bits())
                .unwrap()
                .as_float(),
            Some(f64::NEG_INFINITY)
        );
    }

    #[test]
    fn object_round_trip() {
        let r = ObjRef {
            kind: Kind::Instance,
            slot: MAX_SLOTS - 1,
            stamp: STAMP_MASK as u32,
        };
        assert_eq!(Value::object(r).as_obj(), Some(r));
    }
}
