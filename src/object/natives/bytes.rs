//! `bytes`: `__eq__`, `__ne__` and `decode`.

use super::args::{arg_text, arity, descriptor_error};
use super::container::container_cmps;
use crate::ExcClass;
use crate::gil::{Gil, PyResult};
use crate::value::Value;
use std::fmt::Write as _;

container_cmps! {
    bytes_eq: BYTES "__eq__" true;
    bytes_ne: BYTES "__ne__" false;
}

pub(super) fn bytes_decode(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "decode", 0, 2)?;
    let data = match g.bytes_data(a[0]) {
        Ok(d) => d.to_vec(),
        Err(_) => {
            if let Some(e) = g.err_fetch() {
                g.release(e);
            }
            return Err(descriptor_error(g, "decode", "bytes", a[0]));
        }
    };
    let encoding = match a.get(1) {
        None => "utf-8".to_owned(),
        Some(&v) => arg_text(g, v, "decode", "'encoding'")?,
    };
    let errors = match a.get(2) {
        None => "strict".to_owned(),
        Some(&v) => arg_text(g, v, "decode", "'errors'")?,
    };
    let norm = encoding.to_ascii_lowercase().replace('_', "-");
    let codec = match norm.as_str() {
        "utf-8" | "utf8" => "utf-8",
        "ascii" => "ascii",
        "latin-1" | "latin1" | "iso-8859-1" => {
            let text: String = data.iter().map(|&b| b as char).collect();
            return g.str(&text);
        }
        _ => {
            return Err(g.raise_new(
                ExcClass::LOOKUP_ERROR,
                format!("unknown encoding: {encoding}"),
            ));
        }
    };
    let mut out = String::with_capacity(data.len());
    let mut pos = 0;
    while pos < data.len() {
        let rest = &data[pos..];
        // The longest valid prefix, then the bad range after it (CPython's and Rust's
        // "maximal subpart": the same ranges, so the same replacements and messages).
        let (good, bad, reason) = if codec == "utf-8" {
            match std::str::from_utf8(rest) {
                Ok(_) => (rest.len(), 0, ""),
                Err(e) => {
                    let good = e.valid_up_to();
                    let byte = rest[good];
                    match e.error_len() {
                        None => (good, rest.len() - good, "unexpected end of data"),
                        Some(n) if (0x80..0xC2).contains(&byte) || byte > 0xF4 => {
                            (good, n, "invalid start byte")
                        }
                        Some(n) => (good, n, "invalid continuation byte"),
                    }
                }
            }
        } else {
            let good = rest
                .iter()
                .position(|b| !b.is_ascii())
                .unwrap_or(rest.len());
            (
                good,
                usize::from(good < rest.len()),
                "ordinal not in range(128)",
            )
        };
        let valid = std::str::from_utf8(&rest[..good]).expect("checked: valid UTF-8 or ASCII");
        out.push_str(valid);
        if bad == 0 {
            break;
        }
        let start = pos + good;
        let bytes = &data[start..start + bad];
        let strict_message = || {
            if bad == 1 {
                format!(
                    "'{codec}' codec can't decode byte 0x{:02x} in position {start}: {reason}",
                    bytes[0]
                )
            } else {
                format!(
                    "'{codec}' codec can't decode bytes in position {start}-{}: {reason}",
                    start + bad - 1
                )
            }
        };
        match errors.as_str() {
            "strict" => return Err(g.raise_new(ExcClass::UNICODE_DECODE_ERROR, strict_message())),
            "ignore" => {}
            "replace" => out.push('\u{fffd}'),
            "backslashreplace" => {
                for b in bytes {
                    let _ = write!(out, "\\x{b:02x}");
                }
            }
            // CPython maps each bad byte to a lone surrogate (U+DC80..U+DCFF); a molt str is
            // UTF-8, which cannot hold one, so this is an error rather than a wrong result.
            "surrogateescape" => {
                let msg = format!(
                    "{} (molt-state: errors='surrogateescape' would make lone surrogates, which a molt str, being UTF-8, cannot hold)",
                    strict_message()
                );
                return Err(g.raise_new(ExcClass::UNICODE_DECODE_ERROR, msg));
            }
            other => {
                return Err(g.raise_new(
                    ExcClass::LOOKUP_ERROR,
                    format!("unknown error handler name '{other}'"),
                ));
            }
        }
        pos = start + bad;
    }
    g.str(&out)
}
