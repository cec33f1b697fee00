//! The `repr()` text of the values whose repr needs no runtime: str, bytes and float, in
//! CPython's formats (`Gil::repr` uses them for its leaves; `molt_state::gil` re-exports
//! them).

use std::fmt::Write as _;

/// CPython's `repr()` of a str.
///
/// Quotes with `'` unless the text contains `'` and no `"`; escapes the quote, `\\`, `\n`,
/// `\r` and `\t`, and every other code point CPython 3.11 counts as non-printable
/// (`str.isprintable()` false; the table is generated into src/printable.rs) by its width:
/// `\xhh` below U+0100, `\uhhhh` below U+10000, `\Uhhhhhhhh` above (lowercase hex).
pub fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if crate::printable::is_printable(c) => out.push(c),
            c => {
                let c = c as u32;
                let _ = if c < 0x100 {
                    write!(out, "\\x{c:02x}")
                } else if c < 0x1_0000 {
                    write!(out, "\\u{c:04x}")
                } else {
                    write!(out, "\\U{c:08x}")
                };
            }
        }
    }
    out.push(quote);
    out
}

/// CPython's `repr()` of a bytes object.
pub fn bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::with_capacity(b.len() + 3);
    out.push('b');
    out.push(quote as char);
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c as char);
            }
            0x20..=0x7e => out.push(c as char),
            c => {
                let _ = write!(out, "\\x{c:02x}");
            }
        }
    }
    out.push(quote as char);
    out
}

/// CPython's `repr()` of a float (shortest round-trip digits; scientific notation below
/// 1e-4 and from 1e16 on).
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let e = format!("{:e}", f.abs()); // shortest round-trip digits: "d.ddde±x"
    let (mantissa, exp) = e.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let decpt = exp + 1;
    let sign = if f < 0.0 { "-" } else { "" };
    let n = digits.len() as i32;
    if (-3..=16).contains(&decpt) {
        if decpt <= 0 {
            format!("{sign}0.{}{digits}", "0".repeat((-decpt) as usize))
        } else if decpt >= n {
            format!("{sign}{digits}{}.0", "0".repeat((decpt - n) as usize))
        } else {
            let (a, b) = digits.split_at(decpt as usize);
            format!("{sign}{a}.{b}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{frac}e{esign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_matches_python() {
        for (f, s) in [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (1.5e-7, "1.5e-07"),
            (123456.789, "123456.789"),
            (1e308, "1e+308"),
            (5e-324, "5e-324"),
            (f64::INFINITY, "inf"),
            (-0.0, "-0.0"),
        ] {
            assert_eq!(float_repr(f), s, "{f:e}");
        }
    }

    #[test]
    fn str_repr_matches_python() {
        // Expected values from CPython 3.11's repr().
        for (text, want) in [
            ("abc", "'abc'"),
            ("it's", "\"it's\""),
            ("a'b\"c", "'a\\'b\"c'"),
            ("caf\u{e9}\n\u{1}", "'caf\u{e9}\\n\\x01'"),
            // Non-printable code points are escaped as Python does.
            ("\u{a0}", "'\\xa0'"),
            ("\u{ad}\u{7f}\u{9f}", "'\\xad\\x7f\\x9f'"),
            ("\u{2028}", "'\\u2028'"),
            ("a\u{200b}b\u{3000}\u{feff}", "'a\\u200bb\\u3000\\ufeff'"),
            ("\u{378}\u{e000}", "'\\u0378\\ue000'"),
            ("\u{e0001}", "'\\U000e0001'"),
            ("\u{10ffff}", "'\\U0010ffff'"),
            ("it's\u{a0}", "\"it's\\xa0\""),
            // Printable non-ASCII stays as it is.
            ("\u{e9}\u{4e2d}\u{1f600}", "'\u{e9}\u{4e2d}\u{1f600}'"),
            (" \u{a1}\u{ff}\u{ffe0}", "' \u{a1}\u{ff}\u{ffe0}'"),
        ] {
            assert_eq!(str_repr(text), want, "{text:?}");
        }
        assert_eq!(bytes_repr(b"a\x00'"), "b\"a\\x00'\"");
    }
}
