//! `molt-state run` (also the default command): init on an embedded config, a workload
//! touching every sub-state, shutdown, and the teardown report.

use molt_state::ExcClass;
use molt_state::{Config, Gil, PyResult, Runtime, TeardownReport, Value};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The embedded default config of `molt-state run`.
fn run_config() -> Config {
    Config {
        argv: vec!["molt-state".into(), "run".into()],
        capabilities: Some(vec!["fs.read".into(), "time".into()]),
        track_allocations: Some(true),
        ..Config::default()
    }
}

fn workload(rt: &Runtime) -> Result<(), String> {
    // Interned names: look up base names, intern new ones, resolve them back.
    {
        let mut locked = rt.lock();
        for i in 0..1000 {
            let name = format!("attr_{i}");
            let sym = locked.intern(&name);
            if locked.name(sym) != Some(name.as_str()) {
                return Err(format!("interned {name:?} resolved wrongly"));
            }
        }
        locked.set_argv(vec!["molt-state".into(), "run".into(), "--workload".into()]);
    }
    // Builtin classes: every class's MRO starts with itself and ends with object.
    let classes = rt.classes();
    let object = classes.by_name("object").ok_or("no builtin object class")?;
    for c in classes.iter() {
        let mro: Vec<_> = classes.mro(c).map_err(|e| e.to_string())?.collect();
        if mro.first() != Some(&c) || mro.last() != Some(&object) {
            return Err("a builtin MRO does not run from the class to object".into());
        }
    }
    // Exception types, capabilities, hashing.
    for name in ["BaseException", "Exception"] {
        rt.exception_type(name)
            .ok_or_else(|| format!("no exception type {name}"))?;
    }
    if rt.exception_type("int").is_some() {
        return Err("int is found as an exception type".into());
    }
    rt.require("fs.read").map_err(|e| e.to_string())?;
    if rt.require("net.connect").is_ok() {
        return Err("net.connect granted without being configured".into());
    }
    let _ = rt.hash_str("molt");
    objects(rt).map_err(|e| format!("object model: {e}"))?;
    tasks(rt).map_err(|e| format!("tasks: {e}"))
}

/// Tasks on the worker threads: results, a failing task, a cancelled one, and sleeping and
/// delayed ones left for shutdown to cancel (the teardown report shows them).
fn tasks(rt: &Runtime) -> Result<(), String> {
    let mut g = rt.gil();
    let failed = |g: &mut Gil<'_>, what: &str| {
        let e = g.err_fetch().map(|e| {
            let d = g.describe_exception(e);
            let _ = g.decref(e);
            d
        });
        format!("{what}: {}", e.unwrap_or_else(|| "no exception".into()))
    };
    let mut squares = Vec::new();
    for i in 0..8i64 {
        let t = g
            .spawn(move |cx| cx.gil().int(i * i))
            .map_err(|_| failed(&mut g, "spawn"))?;
        squares.push(t);
    }
    let failing = g
        .spawn(|cx| {
            let mut g = cx.gil();
            let d = g.dict()?;
            let k = g.str("missing")?;
            let r = g.call_method(d, "__getitem__", &[k]);
            g.decref(k)?;
            g.decref(d)?;
            r
        })
        .map_err(|_| failed(&mut g, "spawn"))?;
    let cancelled = g
        .spawn_after(Duration::from_secs(3600), |_| Ok(Value::NONE))
        .map_err(|_| failed(&mut g, "spawn_after"))?;
    g.cancel(cancelled, Some("not needed"))
        .map_err(|_| failed(&mut g, "cancel"))?;
    for _ in 0..2 {
        g.spawn(|cx| {
            cx.sleep(Duration::from_secs(3600))?;
            Ok(Value::NONE)
        })
        .map_err(|_| failed(&mut g, "spawn"))?;
    }
    g.spawn_after(Duration::from_secs(3600), |_| Ok(Value::NONE))
        .map_err(|_| failed(&mut g, "spawn_after"))?;
    let mut sum = 0;
    for t in squares {
        let v = g.join(t).map_err(|_| failed(&mut g, "join"))?;
        sum += v.as_int().unwrap_or(0);
    }
    let failure = match g.join(failing) {
        Ok(_) => return Err("the failing task succeeded".into()),
        Err(_) => failed(&mut g, "task"),
    };
    let cancellation = match g.join(cancelled) {
        Ok(_) => return Err("the cancelled task ran".into()),
        Err(_) => failed(&mut g, "task"),
    };
    g.clear_last_exception();
    println!("tasks:");
    println!("  8 tasks computed squares on the workers; their sum is {sum}");
    println!("  a failing task: {failure}");
    println!("  a cancelled task: {cancellation}");
    println!("  left for shutdown: 2 sleeping tasks and 1 on an hour-long timer");
    Ok(())
}

fn native_double(g: &mut Gil<'_>, args: &[Value]) -> PyResult<Value> {
    let x = match args {
        [_self, x] => g.as_i64(*x)?,
        _ => return Err(g.raise_new(ExcClass::TYPE_ERROR, "double() takes exactly one argument")),
    };
    g.int(x * 2)
}

fn init_geometry(g: &mut Gil<'_>, m: Value) -> PyResult<()> {
    let origin = g.tuple(&[Value::int(0).expect("small"), Value::int(0).expect("small")])?;
    g.setattr(m, "origin", origin)?;
    g.decref(origin)
}

/// The object model: containers, method tables and the method cache, user classes,
/// exceptions with context, modules, hashing. Some objects are left alive on purpose (a
/// reference cycle among them) to show that shutdown reclaims them.
fn objects(rt: &Runtime) -> Result<(), String> {
    let mut g = rt.gil();
    let failed = |g: &mut Gil<'_>, what: &str| {
        let e = g.err_fetch().map(|e| g.describe_exception(e));
        format!("{what}: {}", e.unwrap_or_else(|| "no exception".into()))
    };
    macro_rules! ok {
        ($e:expr, $what:expr) => {
            match $e {
                Ok(v) => v,
                Err(_) => return Err(failed(&mut g, $what)),
            }
        };
    }
    // Containers and everyday methods.
    let words = ok!(g.str("born in microseconds, gone without a trace"), "str");
    let parts = ok!(g.call_method(words, "split", &[]), "str.split");
    let n = ok!(g.len(parts), "len");
    if n != 7 {
        return Err(format!("split gave {n} parts"));
    }
    let counts = ok!(g.dict(), "dict");
    for i in 0..n {
        let w = ok!(g.get_item_index(parts, i as i64), "list[i]");
        let len = ok!(g.len(w), "len(word)");
        ok!(
            g.dict_set(counts, w, Value::int(len as i64).expect("small")),
            "dict[k]=v"
        );
        ok!(g.decref(w), "decref");
    }
    // Method cache: the same lookup, many times.
    for _ in 0..1000 {
        let up = ok!(g.call_method(words, "upper", &[]), "str.upper");
        ok!(g.decref(up), "decref");
    }
    // User classes with C3 and a native method; invalidation on mutation.
    let double = g.native_function("double", native_double);
    let base = ok!(
        g.class_new("Shape", &[], &[("double", double)]),
        "class Shape"
    );
    let left = ok!(g.class_new("Left", &[base], &[]), "class Left");
    let right = ok!(g.class_new("Right", &[base], &[]), "class Right");
    let both = ok!(g.class_new("Both", &[left, right], &[]), "class Both");
    let inst = ok!(g.call(both, &[]), "Both()");
    let four = ok!(
        g.call_method(inst, "double", &[Value::int(2).expect("small")]),
        "Both().double(2)"
    );
    if four.as_int() != Some(4) {
        return Err("double(2) != 4".into());
    }
    ok!(
        g.setattr(base, "sides", Value::int(3).expect("small")),
        "Shape.sides = 3"
    );
    if g.class_new("Broken", &[base, both], &[]).is_ok() {
        return Err("an inconsistent MRO was accepted".into());
    }
    let mro_error = g.err_fetch().map(|e| {
        let d = g.describe_exception(e);
        let _ = g.decref(e);
        d
    });
    // Exceptions: a KeyError raised while handling a ValueError gets it as __context__.
    let _ = g.raise_new(ExcClass::VALUE_ERROR, "first");
    let key = ok!(g.str("missing"), "str");
    if g.call_method(counts, "__getitem__", &[key]).is_ok() {
        return Err("a missing key was found".into());
    }
    let err = g.err_fetch().ok_or("no KeyError")?;
    let context = ok!(g.getattr(err, "__context__"), "__context__");
    let described = (g.describe_exception(err), g.describe_exception(context));
    // Modules: builtins, sys (argv from the runtime), a host module.
    let sys = ok!(g.import_module("sys"), "import sys");
    let argv = ok!(g.getattr(sys, "argv"), "sys.argv");
    let argv_repr = ok!(g.repr(argv), "repr(sys.argv)");
    let builtins = ok!(g.import_module("builtins"), "import builtins");
    ok!(
        g.register_module("geometry", init_geometry),
        "register geometry"
    );
    let geometry = ok!(g.import_module("geometry"), "import geometry");
    // Hashing, as CPython computes it under the same seed.
    let t = ok!(
        g.tuple(&[words, Value::int(1).expect("small"), Value::float(0.5)]),
        "tuple"
    );
    let h = ok!(g.hash(t), "hash(tuple)");
    // Leave a reference cycle and a few objects alive: shutdown reclaims them.
    let cycle = ok!(g.list(&[]), "list");
    ok!(
        g.call_method(cycle, "append", &[cycle]),
        "cycle.append(cycle)"
    );
    let stats = g.method_cache_stats();
    println!("object model:");
    println!(
        "  str.split -> {n} words; word lengths: {}",
        ok!(g.repr(counts), "repr")
    );
    println!("  Both.__mro__: {}", {
        let m = ok!(g.getattr(both, "__mro__"), "__mro__");
        let r = ok!(g.repr(m), "repr");
        ok!(g.decref(m), "decref");
        r
    });
    println!(
        "  class Broken(Shape, Both): {}",
        mro_error.unwrap_or_default().replace('\n', " ")
    );
    println!("  caught {} (context: {})", described.0, described.1);
    println!("  sys.argv = {argv_repr}");
    println!("  hash((words, 1, 0.5)) = {h}");
    println!(
        "  method cache: {} hits, {} misses, {} entries",
        stats.hits, stats.misses, stats.occupied
    );
    for v in [
        words, parts, counts, inst, key, err, context, sys, argv, builtins, geometry, t, cycle,
    ] {
        ok!(g.decref(v), "decref");
    }
    g.clear_last_exception();
    Ok(())
}

/// `molt-state run`.
pub fn run() -> ExitCode {
    let started = Instant::now();
    let rt = match Runtime::try_new(run_config()) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("molt-state: {e}");
            return ExitCode::FAILURE;
        }
    };
    let init_wall = started.elapsed();
    if let Err(e) = workload(&rt) {
        eprintln!("molt-state: workload failed: {e}");
        return ExitCode::FAILURE;
    }
    let report: TeardownReport = match rt.shutdown() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("molt-state: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "molt-state run: init took {:.1} us (wall, incl. allocation of the runtime)",
        init_wall.as_secs_f64() * 1e6
    );
    println!("{report}");
    if report.leaks.is_empty() && report.hash_secret_wiped {
        ExitCode::SUCCESS
    } else {
        eprintln!("molt-state: teardown left live allocations");
        ExitCode::FAILURE
    }
}
