//! `molt-state classes [--json]`: the builtin classes with their bases and MRO.

use molt_state::{Config, Runtime};
use std::process::ExitCode;

/// `molt-state classes [--json]`.
pub fn classes(json: bool) -> ExitCode {
    let rt = match Runtime::try_new(Config {
        track_allocations: Some(false),
        ..Config::default()
    }) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("molt-state: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut rows = Vec::new();
    {
        let classes = rt.classes();
        let locked = rt.lock();
        let name = |c| {
            classes
                .get(c)
                .ok()
                .and_then(|d| locked.name(d.name))
                .unwrap_or("?")
                .to_owned()
        };
        for c in classes.iter() {
            let (Ok(bases), Ok(mro)) = (classes.bases(c), classes.mro(c)) else {
                continue;
            };
            let bases: Vec<String> = bases.map(name).collect();
            let mro: Vec<String> = mro.map(name).collect();
            rows.push((name(c), bases, mro));
        }
    }
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let list = |v: &[String]| v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ");
    let mut out = String::new();
    if json {
        out.push_str("[\n");
        for (i, (n, b, m)) in rows.iter().enumerate() {
            out.push_str(&format!(
                "  {{\"name\": {}, \"bases\": [{}], \"mro\": [{}]}}{}\n",
                quote(n),
                list(b),
                list(m),
                if i + 1 < rows.len() { "," } else { "" }
            ));
        }
        out.push_str("]\n");
    } else {
        for (n, b, m) in &rows {
            out.push_str(&format!(
                "{n}({})\n    mro: {}\n",
                b.join(", "),
                m.join(" -> ")
            ));
        }
        out.push_str(&format!("{} builtin classes\n", rows.len()));
    }
    use std::io::Write as _;
    let _ = std::io::stdout().write_all(out.as_bytes());
    match rt.shutdown() {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("molt-state: {e}");
            ExitCode::FAILURE
        }
    }
}
