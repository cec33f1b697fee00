//! The object model through the Rust API: values, heap objects and reference counts, builtin
//! classes and method tables, the method cache, user classes, exceptions, modules, and
//! values that outlive their runtime.

use crate::{caught, test_config};
use molt_state::ExcClass;
use molt_state::{Config, Gil, Runtime, Value};

fn text(g: &mut Gil<'_>, v: Value) -> String {
    let s = g.str_text(v).unwrap().to_owned();
    g.decref(v).unwrap();
    s
}

#[test]
fn containers_and_reference_counts() {
    let rt = Runtime::new(test_config());
    let mut g = rt.gil();
    let base = g.live_objects();
    let s = g.str("caf\u{e9}").unwrap();
    assert_eq!(g.len(s).unwrap(), 4);
    let one = g.int(1).unwrap();
    let t = g.tuple(&[s, one, Value::NONE]).unwrap();
    assert_eq!(g.refcount(s), Some(2));
    let l = g.list(&[t, s]).unwrap();
    assert_eq!(g.repr(l).unwrap(), "[('caf\u{e9}', 1, None), 'caf\u{e9}']");
    g.decref(s).unwrap();
    g.decref(t).unwrap();
    assert_eq!(g.live_objects(), base + 3);
    g.decref(l).unwrap(); // frees the list, the tuple and the str
    assert_eq!(g.live_objects(), base);
    // A freed object's value is rejected, not resolved.
    assert!(g.check(s).is_err());
    assert!(g.len(s).is_err());
    assert!(caught(&mut g).starts_with("ReferenceError: stale or foreign value"));
    drop(g);
    let report = rt.shutdown().unwrap();
    assert!(report.leaks.is_empty(), "{report}");
}

#[test]
fn deep_nesting_frees_without_recursion() {
    let rt = Runtime::new(test_config());
    let mut g = rt.gil();
    let base = g.live_objects();
    let mut v = g.list(&[]).unwrap();
    for _ in 0..crate::scaled(100_000, 200) {
        let outer = g.list(&[v]).unwrap();
        g.decref(v).unwrap();
        v = outer;
    }
    g.decref(v).unwrap();
    assert_eq!(g.live_objects(), base);
}

#[test]
fn dict_semantics() {
    let rt = Runtime::new(test_config());
    let mut g = rt.gil();
    let d = g.dict().unwrap();
    let k1 = g.str("b").unwrap();
    let k2 = g.str("a").unwrap();
    let one = g.int(1).unwrap();
    g.dict_set(d, k1, one).unwrap();
    g.dict_set(d, k2, Value::TRUE).unwrap();
    // 1, 1.0 and True are one key, as in Python.
    g.dict_set(d, one, Value::NONE).unwrap();
    g.dict_set(d, Value::float(1.0), Value::ELLIPSIS).unwrap();
    assert_eq!(g.len(d).unwrap(), 3);
    assert_eq!(g.dict_get(d, Value::TRUE).unwrap(), Some(Value::ELLIPSIS));
    let probe = g.str("b").unwrap();
    assert_eq!(g.dict_get(d, probe).unwrap(), Some(one));
    assert_eq!(g.repr(d).unwrap(), "{'b': 1, 'a': True, 1: Ellipsis}");
    let keys = g.call_method(d, "keys", &[]).unwrap();
    assert_eq!(g.repr(keys).unwrap(), "['b', 'a', 1]");
    let items = g.call_method(d, "items", &[]).unwrap();
    assert_eq!(
        g.repr(items).unwrap(),
        "[('b', 1), ('a', True), (1, Ellipsis)]"
    );
    let popped = g.call_method(d, "pop", &[probe]).unwrap();
    assert_eq!(popped, one);
    assert_eq!(g.repr(d).unwrap(), "{'a': True, 1: Ellipsis}");
    // Unhashable keys.
    let l = g.list(&[]).unwrap();
    assert!(g.dict_set(d, l, one).is_err());
    assert_eq!(caught(&mut g), "TypeError: unhashable type: 'list'");
    assert!(g.call_method(d, "__getitem__", &[probe]).is_err());
    assert_eq!(caught(&mut g), "KeyError: 'b'");
    let got = g.call_method(d, "get", &[probe, one]).unwrap();
    assert_eq!(got, one);
    let has = g.call_method(d, "__contains__", &[k2]).unwrap();
    assert_eq!(has, Value::TRUE);
    for v in [keys, items, l, probe, k1, k2, d] {
        g.decref(v).unwrap();
    }
    // The last exception is kept for diagnostics until cleared.
    assert!(g.last_exception().is_some());
    g.clear_last_exception();
    drop(g);
    let report = rt.shutdown().unwrap();
    assert!(report.reclaimed.is_empty(), "{report}");
}

#[test]
fn builtin_method_tables() {
    let rt = Runtime::new(test_config());
    let mut g = rt.gil();
    let s = g.str("Hello, World").unwrap();
    let up = g.call_method(s, "upper", &[]).unwrap();
    assert_eq!(text(&mut g, up), "HELLO, WORLD");
    let comma = g.str(", ").unwrap();
    let parts = g.call_method(s, "split", &[comma]).unwrap();
    assert_eq!(g.repr(parts).unwrap(), "['Hello', 'World']");
    let dash = g.str("-").unwrap();
    let joined = g.call_method(dash, "join", &[parts]).unwrap();
    assert_eq!(text(&mut g, joined), "Hello-World");
    let w = g.str("World").unwrap();
    let found = g.call_method(s, "find", &[w]).unwrap();
    assert_eq!(found.as_int(), Some(7));
    let there = g.str("There").unwrap();
    let replaced = g.call_method(s, "replace", &[w, there]).unwrap();
    assert_eq!(text(&mut g, replaced), "Hello, There");
    let starts = g.call_method(s, "startswith", &[w]).unwrap();
    assert_eq!(starts, Value::FALSE);
    let ends = g.call_method(s, "endswith", &[w]).unwrap();
    assert_eq!(ends, Value::TRUE);
    let ws = g.str("  a b\t c  ").unwrap();
    let split = g.call_method(ws, "split", &[]).unwrap();
    assert_eq!(g.repr(split).unwrap(), "['a', 'b', 'c']");

    // bytes
    let b = g.bytes(b"caf\xc3\xa9").unwrap();
    let dec = g.call_method(b, "decode", &[]).unwrap();
    assert_eq!(text(&mut g, dec), "caf\u{e9}");
    let bad = g.bytes(b"\xff").unwrap();
    assert!(g.call_method(bad, "decode", &[]).is_err());
    assert_eq!(
        caught(&mut g),
        "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"
    );

    // list and tuple
    let l = g.list(&[]).unwrap();
    for i in 0..3 {
        let v = g.int(i).unwrap();
        g.call_method(l, "append", &[v]).unwrap();
    }
    let last = g.call_method(l, "pop", &[]).unwrap();
    assert_eq!(last.as_int(), Some(2));
    let t = g
        .call_method(l, "__getitem__", &[Value::int(-1).unwrap()])
        .unwrap();
    assert_eq!(t.as_int(), Some(1));
    assert!(
        g.call_method(l, "__getitem__", &[Value::int(5).unwrap()])
            .is_err()
    );
    assert_eq!(caught(&mut g), "IndexError: list index out of range");
    let tup = g
        .tuple(&[Value::TRUE, Value::int(1).unwrap(), Value::NONE])
        .unwrap();
    let count = g
        .call_method(tup, "count", &[Value::int(1).unwrap()])
        .unwrap();
    assert_eq!(count.as_int(), Some(2)); // True == 1
    assert!(g.call_method(tup, "index", &[Value::ELLIPSIS]).is_err());
    assert_eq!(caught(&mut g), "ValueError: tuple.index(x): x not in tuple");
    let empty = g.list(&[]).unwrap();
    assert!(g.call_method(empty, "pop", &[]).is_err());
    assert_eq!(caught(&mut g), "IndexError: pop from empty list");

    // numbers
    let seven = Value::int(7).unwrap();
    let neg2 = Value::int(-2).unwrap();
    let q = g.call_method(seven, "__floordiv__", &[neg2]).unwrap();
    assert_eq!(q.as_int(), Some(-4));
    let m = g.call_method(seven, "__mod__", &[neg2]).unwrap();
    assert_eq!(m.as_int(), Some(-1));
    let d = g.call_method(seven, "__truediv__", &[neg2]).unwrap();
    assert_eq!(d.as_float(), Some(-3.5));
    let f = g
        .call_method(Value::float(7.5), "__mod__", &[neg2])
        .unwrap();
    assert_eq!(f.as_float(), Some(-0.5));
    // int.__lt__ leaves a float to float's reflected method, as in CPython:
    // (-2).__lt__(-1.5) is NotImplemented, (-1.5).__gt__(-2) is True.
    let lt = g
        .call_method(neg2, "__lt__", &[Value::float(-1.5)])
        .unwrap();
    assert_eq!(lt, Value::NOT_IMPLEMENTED);
    let gt = g
        .call_method(Value::float(-1.5), "__gt__", &[neg2])
        .unwrap();
    assert_eq!(gt, Value::TRUE);
    assert!(
        g.call_method(seven, "__floordiv__", &[Value::int(0).unwrap()])
            .is_err()
    );
    assert_eq!(
        caught(&mut g),
        "ZeroDivisionError: integer division or modulo by zero"
    );
    let big = Value::int(molt_state::value::SMALL_INT_MAX).unwrap();
    let sum = g.call_method(big, "__add__", &[seven]).unwrap(); // a big int (tests/all/bigint.rs)
    assert_eq!(g.repr(sum).unwrap(), "140737488355334");
    g.decref(sum).unwrap();
    let ni = g.call_method(seven, "__add__", &[s]).unwrap();
    assert_eq!(ni, Value::NOT_IMPLEMENTED);

    // exceptions
    let ve = g.builtin_class("ValueError").unwrap();
    let msg = g.str("bad value").unwrap();
    let e = g.call(ve, &[msg]).unwrap();
    let r = g.call_method(e, "__repr__", &[]).unwrap();
    assert_eq!(text(&mut g, r), "ValueError('bad value')");
    let st = g.call_method(e, "__str__", &[]).unwrap();
    assert_eq!(text(&mut g, st), "bad value");
    let e2 = g.call(ve, &[msg, seven]).unwrap();
    assert_eq!(g.repr(e2).unwrap(), "ValueError('bad value', 7)");
    assert_eq!(g.to_str(e2).unwrap(), "('bad value', 7)");

    // attribute errors name the type
    assert!(g.call_method(s, "nope", &[]).is_err());
    assert_eq!(
        caught(&mut g),
        "AttributeError: 'str' object has no attribute 'nope'"
    );
    drop(g);
    let report = rt.shutdown().unwrap();
    assert!(report.leaks.is_empty());
}

#[test]
fn class_attributes_and_bound_methods() {
    let rt = Runtime::new(test_config());
    let mut g = rt.gil();
    let bool_ = g.builtin_class("bool").unwrap();
    let mro = g.getattr(bool_, "__mro__").unwrap();
    assert_eq!(
        g.repr(mro).unwrap(),
        "(<class 'bool'>, <class 'int'>, <class 'object'>)"
    );
    let name = g.getattr(bool_, "__name__").unwrap();
    assert_eq!(text(&mut g, name), "bool");
    let str_ = g.builtin_class("str").unwrap();
    let upper = g.getattr(str_, "upper").unwrap();
    assert_eq!(g.repr(upper).unwrap(), "<method 'upper' of 'str' objects>");
    let s = g.str("abc").unwrap();
    let r = g.call(upper, &[s]).unwrap(); // str.upper("abc")
    assert_eq!(text(&mut g, r), "ABC");
    let bound = g.getattr(s, "upper").unwrap();
    let r = g.call(bound, &[]).unwrap();
    assert_eq!(text(&mut g, r), "ABC");
    let t = g.class_of(Value::TRUE).unwrap();
    assert_eq!(t, bool_);
    let int_ = g.builtin_class("int").unwrap();
    assert!(g.isinstance(Value::TRUE, int_).unwrap());
    assert!(g.setattr(str_, "x", Value::NONE).is_err());
    assert_eq!(
        caught(&mut g),
        "TypeError: cannot set 'x' attribute of immutable type 'str'"
    );
    // Aliases of builtin exception classes.
    assert_eq!(g.builtin_class("OSError"), g.builtin_class("OSError"));
    assert_eq!(g.exception_type("KeyError"), g.builtin_class("KeyError"));
    assert_eq!(g.exception_type("str"), None);
    for v in [mro, bound, s] {
        g.decref(v).unwrap();
    }
}

fn answer(g: &mut Gil<'_>, _args: &[Value]) -> molt_state::PyResult<Value> {
    g.int(42)
}

fn other(g: &mut Gil<'_>, _args: &[Value]) -> molt_state::PyResult<Value> {
    g.int(7)
}

#[test]
fn user_classes_c3_and_method_cache_invalidation() {
    let rt = Runtime::new(test_config());
    let mut g = rt.gil();
    let f = g.native_function("answer", answer);
    let a = g.class_new("A", &[], &[("answer", f)]).unwrap();
    let b = g.class_new("B", &[a], &[]).unwrap();
    let c = g.class_new("C", &[a], &[]).unwrap();
    let d = g.class_new("D", &[b, c], &[]).unwrap();
    let mro = g.getattr(d, "__mro__").unwrap();
    assert_eq!(
        g.repr(mro).unwrap(),
        "(<class 'D'>, <class 'B'>, <class 'C'>, <class 'A'>, <class 'object'>)"
    );
    let obj = g.call(d, &[]).unwrap();
    let before = g.method_cache_stats();
    for _ in 0..10 {
        let r = g.call_method(obj, "answer", &[]).unwrap();
        assert_eq!(r.as_int(), Some(42));
    }
    let after = g.method_cache_stats();
    assert!(after.hits >= before.hits + 9, "{before:?} -> {after:?}");
    // Setting an attribute on a base class invalidates the subclass's cached lookup.
    let f2 = g.native_function("other", other);
    g.setattr(a, "answer", f2).unwrap();
    let r = g.call_method(obj, "answer", &[]).unwrap();
    assert_eq!(r.as_int(), Some(7));
    // Instance attributes shadow class attributes.
    g.setattr(obj, "answer", Value::int(1).unwrap()).unwrap();
    let v = g.getattr(obj, "answer").unwrap();
    assert_eq!(v.as_int(), Some(1));
    // Inconsistent hierarchies and duplicate bases fail with CPython's messages.
    assert!(g.class_new("E", &[a, d], &[]).is_err());
    assert_eq!(
        caught(&mut g),
        "TypeError: Cannot create a consistent method resolution\norder (MRO) for bases A, D"
    );
    assert!(g.class_new("F", &[a, a], &[]).is_err());
    assert_eq!(caught(&mut g), "TypeError: duplicate base class A");
    let int_ = g.builtin_class("int").unwrap();
    assert!(g.class_new("G", &[int_], &[]).is_err());
    assert!(caught(&mut g).contains("cannot derive from builtin type 'int'"));
    // A user exception class.
    let ve = g.builtin_class("ValueError").unwrap();
    let my = g.class_new("MyError", &[ve], &[]).unwrap();
    let e = g.call(my, &[Value::int(3).unwrap()]).unwrap();
    assert!(g.isinstance(e, ve).unwrap());
    assert_eq!(g.repr(e).unwrap(), "MyError(3)");
    for v in [mro, obj, e] {
        g.decref(v).unwrap();
    }
    drop(g);
    let report = rt.shutdown().unwrap();
    assert!(report.leaks.is_empty(), "{report}");
}

#[test]
fn exceptions_context_cause_and_last() {
    let rt = Runtime::new(test_config());
    let mut g = rt.gil();
    assert_eq!(g.err_occurred(), None);
    let _ = g.raise_new(ExcClass::KEY_ERROR, "first");
    let first = g.err_occurred().unwrap();
    let _ = g.raise_new(ExcClass::VALUE_ERROR, "second");
    let second = g.err_fetch().unwrap();
    assert_eq!(
        g.err_occurred(),
        None,
        "catching clears the current exception"
    );
    let ctx = g.getattr(second, "__context__").unwrap();
    assert_eq!(ctx, first);
    assert_eq!(g.describe_exception(ctx), "KeyError: 'first'");
    assert_eq!(g.last_exception(), Some(second));
    // raise ... from cause
    let rt_err = g.builtin_class("RuntimeError").unwrap();
    let third = g.call(rt_err, &[]).unwrap();
    g.set_cause(third, second).unwrap();
    let sup = g.getattr(third, "__suppress_context__").unwrap();
    assert_eq!(sup, Value::TRUE);
    let _ = g.raise(third);
    let got = g.err_fetch().unwrap();
    assert_eq!(got, third);
    let cause = g.getattr(got, "__cause__").unwrap();
    assert_eq!(cause, second);
    // Raising something that is not an exception is a TypeError.
    let _ = g.raise(Value::int(3).unwrap());
    assert_eq!(
        caught(&mut g),
        "TypeError: exceptions must derive from BaseException"
    );
    g.clear_last_exception();
    assert_eq!(g.last_exception(), None);
    for v in [ctx, second, cause, got] {
        g.decref(v).unwrap();
    }
    drop(g);
    let report = rt.shutdown().unwrap();
    assert!(report.reclaimed.is_empty(), "{report}");
    assert!(report.leaks.is_empty());
}

#[test]
fn exception_state_is_per_thread() {
    let rt = Runtime::new(test_config());
    let _ = rt.gil().raise_new(ExcClass::VALUE_ERROR, "main");
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut g = rt.gil();
            assert_eq!(g.err_occurred(), None);
            let _ = g.raise_new(ExcClass::KEY_ERROR, "worker");
            let e = g.err_fetch().unwrap();
            assert_eq!(g.describe_exception(e), "KeyError: 'worker'");
            g.decref(e).unwrap();
            g.clear_last_exception();
        });
    });
    let mut g = rt.gil();
    assert_eq!(caught(&mut g), "ValueError: main");
}

fn init_spam(g: &mut Gil<'_>, m: Value) -> molt_state::PyResult<()> {
    let v = g.str("eggs")?;
    g.setattr(m, "ham", v)?;
    g.decref(v)
}

fn init_broken(g: &mut Gil<'_>, _m: Value) -> molt_state::PyResult<()> {
    Err(g.raise_new(ExcClass::IMPORT_ERROR, "broken on purpose"))
}

#[test]
fn modules_builtins_sys_and_host_modules() {
    let rt = Runtime::new(Config {
        argv: vec!["prog".into(), "-x".into()],
        ..test_config()
    });
    let mut g = rt.gil();
    let sys = g.import_module("sys").unwrap();
    let argv = g.getattr(sys, "argv").unwrap();
    assert_eq!(g.repr(argv).unwrap(), "['prog', '-x']");
    g.decref(argv).unwrap();
    let b = g.import_module("builtins").unwrap();
    let ve = g.getattr(b, "ValueError").unwrap();
    assert_eq!(Some(ve), g.builtin_class("ValueError"));
    let len = g.getattr(b, "len").unwrap();
    let r = g.call(len, &[argv]).unwrap(); // still alive: sys owns it
    assert_eq!(r.as_int(), Some(2));
    let s = g.str("four").unwrap();
    let n = g.call(len, &[s]).unwrap();
    assert_eq!(n.as_int(), Some(4));
    let again = g.import_module("sys").unwrap();
    assert_eq!(again, sys, "the module cache returns the same module");
    assert!(g.import_module("nope").is_err());
    assert_eq!(
        caught(&mut g),
        "ModuleNotFoundError: No module named 'nope'"
    );
    g.register_module("spam", init_spam).unwrap();
    let spam = g.import_module("spam").unwrap();
    let ham = g.getattr(spam, "ham").unwrap();
    assert_eq!(text(&mut g, ham), "eggs");
    assert!(g.getattr(spam, "nope").is_err());
    assert_eq!(
        caught(&mut g),
        "AttributeError: module 'spam' has no attribute 'nope'"
    );
    g.register_module("broken", init_broken).unwrap();
    assert!(g.import_module("broken").is_err());
    assert_eq!(caught(&mut g), "ImportError: broken on purpose");
    assert_eq!(g.module_count(), 3);
    drop(g);
    // sys.argv follows the argv storage.
    rt.lock().set_argv(vec!["other".into()]);
    let mut g = rt.gil();
    let argv = g.getattr(sys, "argv").unwrap();
    assert_eq!(g.repr(argv).unwrap(), "['other']");
    for v in [argv, sys, again, b, s, spam] {
        g.decref(v).unwrap();
    }
    drop(g);
    let report = rt.shutdown().unwrap();
    assert!(report.leaks.is_empty(), "{report}");
    let held = |name: &str| report.held.iter().find(|h| h.owner == name).unwrap().items;
    assert_eq!(held("module cache"), 3);
}

#[test]
fn hashes_follow_python_equality() {
    let rt = Runtime::new(test_config());
    let mut g = rt.gil();
    let one = Value::int(1).unwrap();
    assert_eq!(g.hash(one).unwrap(), 1);
    assert_eq!(g.hash(Value::TRUE).unwrap(), 1);
    assert_eq!(g.hash(Value::float(1.0)).unwrap(), 1);
    assert_eq!(g.hash(Value::int(-1).unwrap()).unwrap(), -2);
    let s = g.str("abc").unwrap();
    assert_eq!(g.hash(s).unwrap(), rt.hash_str("abc"));
    let t = g.tuple(&[one, s]).unwrap();
    let h = g.hash(t).unwrap();
    assert_eq!(
        h,
        molt_state::hash::hash_tuple([1, rt.hash_str("abc")]),
        "a tuple hashes its items' hashes"
    );
    let l = g.list(&[one]).unwrap();
    let nested = g.tuple(&[l]).unwrap();
    assert!(g.hash(nested).is_err());
    assert_eq!(caught(&mut g), "TypeError: unhashable type: 'list'");
    for v in [s, t, l, nested] {
        g.decref(v).unwrap();
    }
}

#[test]
fn leaked_objects_and_cycles_are_reclaimed_at_shutdown() {
    let rt = Runtime::new(test_config());
    {
        let mut g = rt.gil();
        let a = g.list(&[]).unwrap();
        let b = g.list(&[a]).unwrap();
        g.call_method(a, "append", &[b]).unwrap(); // a <-> b
        g.decref(b).unwrap();
        g.decref(a).unwrap(); // unreachable now, but a cycle keeps both alive
        let _leaked = g.str("never released").unwrap();
        assert_eq!(g.live_objects(), 3);
    }
    let report = rt.shutdown().unwrap();
    let reclaimed: Vec<_> = report
        .reclaimed
        .iter()
        .map(|r| (r.owner, r.items))
        .collect();
    assert_eq!(reclaimed, [("str", 1), ("list", 2)]);
    assert!(report.leaks.is_empty(), "{report}");
    assert!(
        report
            .to_string()
            .contains("objects live at shutdown (reclaimed): str 1 list 2")
    );
}

#[test]
fn values_from_a_dead_or_another_runtime_are_rejected() {
    let rt = Runtime::new(test_config());
    let (kept, kept_class, kept_fn) = {
        let mut g = rt.gil();
        let s = g.str("kept past shutdown").unwrap();
        let a = g.class_new("A", &[], &[]).unwrap();
        let f = g.native_function("answer", answer);
        (s, a, f)
    };
    rt.shutdown().unwrap();
    for _ in 0..crate::scaled(3, 2) {
        let rt2 = Runtime::new(test_config());
        let mut g = rt2.gil();
        // The new runtime has objects in the same slots.
        let s = g.str("new object").unwrap();
        let a = g.class_new("A", &[], &[]).unwrap();
        for v in [kept, kept_class, kept_fn] {
            assert!(g.check(v).is_err(), "{v:?}");
            assert!(g.repr(v).is_err());
            assert!(caught(&mut g).starts_with("ReferenceError"));
        }
        assert!(g.incref(kept).is_err());
        let _ = caught(&mut g);
        assert!(g.tuple(&[kept]).is_err());
        let _ = caught(&mut g);
        // And values of a runtime live at the same time.
        let other = Runtime::new(test_config());
        let mut g2 = other.gil();
        assert!(g2.check(s).is_err());
        assert!(g2.check(a).is_err());
        assert!(g2.len(s).is_err());
        drop(g2);
        drop(g);
        rt2.shutdown().unwrap();
        other.shutdown().unwrap();
    }
}

#[test]
fn constructors_of_builtin_classes() {
    let rt = Runtime::new(test_config());
    let mut g = rt.gil();
    let int_ = g.builtin_class("int").unwrap();
    let s = g.str(" 42 ").unwrap();
    assert_eq!(g.call(int_, &[s]).unwrap().as_int(), Some(42));
    let bad = g.str("4x").unwrap();
    assert!(g.call(int_, &[bad]).is_err());
    assert_eq!(
        caught(&mut g),
        "ValueError: invalid literal for int() with base 10: '4x'"
    );
    let float_ = g.builtin_class("float").unwrap();
    assert_eq!(
        g.call(float_, &[Value::int(3).unwrap()])
            .unwrap()
            .as_float(),
        Some(3.0)
    );
    let tuple_ = g.builtin_class("tuple").unwrap();
    let ab = g.str("ab").unwrap();
    let t = g.call(tuple_, &[ab]).unwrap();
    assert_eq!(g.repr(t).unwrap(), "('a', 'b')");
    let type_ = g.builtin_class("type").unwrap();
    let name = g.str("T").unwrap();
    let bases = g.tuple(&[]).unwrap();
    let ns = g.dict().unwrap();
    let cls = g.call(type_, &[name, bases, ns]).unwrap();
    assert_eq!(g.repr(cls).unwrap(), "<class 'T'>");
    let nt = g.builtin_class("NoneType").unwrap();
    assert!(g.call(nt, &[]).is_err());
    assert_eq!(
        caught(&mut g),
        "TypeError: cannot create 'NoneType' instances"
    );
    for v in [s, bad, ab, t, name, bases, ns] {
        g.decref(v).unwrap();
    }
}

/// An unbound builtin method called with no arguments at all (no `self`) is a `TypeError`,
/// as in CPython (found by the op-sequence fuzz target: `list.pop()` indexed an empty
/// argument slice and panicked).
#[test]
fn unbound_method_without_self_is_a_type_error() {
    let rt = Runtime::new(test_config());
    let mut g = rt.gil();
    for (class, method) in [("list", "pop"), ("str", "upper"), ("dict", "keys")] {
        let cls = g.builtin_class(class).unwrap();
        assert!(g.call_method(cls, method, &[]).is_err());
        assert_eq!(
            caught(&mut g),
            format!("TypeError: unbound method {method}() needs an argument")
        );
        let f = g.getattr(cls, method).unwrap();
        assert!(g.call(f, &[]).is_err());
        assert!(caught(&mut g).starts_with("TypeError"));
        g.decref(f).unwrap();
    }
    drop(g);
    assert!(rt.shutdown().unwrap().leaks.is_empty());
}
