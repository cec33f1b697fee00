/*
 * A C host driving molt-state's C ABI the way generated code and test harnesses do:
 * calls with no runtime, init twice, shutdown twice, init again, argv, capabilities, the
 * object model (values, containers, attributes, method calls, hashing, classes, imports,
 * exceptions), tasks (spawn, join, a raising task, cancel, sleep, a sleeping task left to
 * shutdown), stale values after re-init, then N init/shutdown cycles (each building a few
 * objects; every 100th also runs a task on the worker threads) with the anonymous RSS
 * measured before and after.
 *
 * Usage: host [cycles]    (default 10000). Exit status 0 on success; prints "ok".
 * Built and run by tests/all/c_host.rs; run under valgrind by .ci/run.
 */
#include "molt_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            const char *e = molt_last_error();                                         \
            fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__,     \
                    __LINE__, #cond, e ? e : "none");                                  \
            failures++;                                                                \
        }                                                                              \
    } while (0)

/* Copies a str value's text into a static buffer (for comparisons). */
static const char *text_of(uint64_t v) {
    static char buf[256];
    const char *p = NULL;
    size_t n = 0;
    if (molt_str_as_utf8(v, &p, &n) != MOLT_OK || n >= sizeof buf) return "<error>";
    memcpy(buf, p, n);
    buf[n] = 0;
    return buf;
}

/* The object model through the ABI, as generated code would drive it. */
static void objects(void) {
    uint64_t one, s, t, l, d, v, cls, sys, argv, exc, items[3];
    int64_t i64 = 0;
    size_t n = 0;

    CHECK(molt_int_from_i64(1, &one) == MOLT_OK);
    /* Beyond the 48-bit small ints: a big int, which round-trips. */
    CHECK(molt_int_from_i64(INT64_MAX, &v) == MOLT_OK);
    CHECK(molt_int_as_i64(v, &i64) == MOLT_OK && i64 == INT64_MAX);
    CHECK(molt_decref(v) == MOLT_OK);
    CHECK(molt_str_from_utf8("caf\xc3\xa9", 5, &s) == MOLT_OK);
    CHECK(molt_len(s, &n) == MOLT_OK && n == 4);
    CHECK(molt_str_from_utf8("\xff", 1, &v) == MOLT_ERR_INVALID_ARGUMENT);
    items[0] = one; items[1] = s; items[2] = MOLT_NONE;
    CHECK(molt_tuple_new(items, 3, &t) == MOLT_OK);
    CHECK(molt_tuple_len(t, &n) == MOLT_OK && n == 3);
    CHECK(molt_tuple_get(t, 1, &v) == MOLT_OK && v == s);
    CHECK(molt_decref(v) == MOLT_OK);
    CHECK(molt_tuple_get(t, 3, &v) == MOLT_ERR_EXCEPTION);
    CHECK(strstr(molt_last_error(), "IndexError: tuple index out of range") != NULL);
    CHECK(molt_err_fetch(&exc) == MOLT_OK && molt_decref(exc) == MOLT_OK);
    CHECK(molt_err_occurred() == 0);

    /* hash(1) == 1; a tuple hashes; a list does not. */
    CHECK(molt_hash(one, &i64) == MOLT_OK && i64 == 1);
    CHECK(molt_hash(t, &i64) == MOLT_OK);
    CHECK(molt_list_new(items, 2, &l) == MOLT_OK);
    CHECK(molt_hash(l, &i64) == MOLT_ERR_EXCEPTION);
    CHECK(strstr(molt_last_error(), "TypeError: unhashable type: 'list'") != NULL);
    CHECK(molt_err_occurred() == 1);
    CHECK(molt_err_fetch(&exc) == MOLT_OK && molt_decref(exc) == MOLT_OK);

    /* Method calls through the method cache. */
    CHECK(molt_call_method(s, "upper", NULL, 0, &v) == MOLT_OK);
    CHECK(strcmp(text_of(v), "CAF\xc3\x89") == 0);
    CHECK(molt_decref(v) == MOLT_OK);
    CHECK(molt_call_method(l, "append", &t, 1, &v) == MOLT_OK && v == MOLT_NONE);
    CHECK(molt_len(l, &n) == MOLT_OK && n == 3);
    CHECK(molt_repr(l, &v) == MOLT_OK);
    CHECK(strcmp(text_of(v), "[1, 'caf\xc3\xa9', (1, 'caf\xc3\xa9', None)]") == 0);
    CHECK(molt_decref(v) == MOLT_OK);

    /* Dicts. */
    CHECK(molt_dict_new(&d) == MOLT_OK);
    CHECK(molt_dict_set(d, s, one) == MOLT_OK);
    CHECK(molt_dict_get(d, s, &v) == MOLT_OK && v == one);
    CHECK(molt_dict_get(d, one, &v) == MOLT_ERR_EXCEPTION);
    CHECK(strstr(molt_last_error(), "KeyError: 1") != NULL);
    CHECK(molt_err_fetch(&exc) == MOLT_OK && molt_decref(exc) == MOLT_OK);
    CHECK(molt_dict_set(d, l, one) == MOLT_ERR_EXCEPTION);
    CHECK(molt_err_fetch(&exc) == MOLT_OK && molt_decref(exc) == MOLT_OK);

    /* Classes and attributes. */
    uint64_t bool_cls, mro, vee;
    CHECK(molt_builtin_class("bool", &bool_cls) == MOLT_OK);
    CHECK(molt_getattr(bool_cls, "__mro__", &mro) == MOLT_OK);
    CHECK(molt_repr(mro, &v) == MOLT_OK);
    CHECK(strcmp(text_of(v), "(<class 'bool'>, <class 'int'>, <class 'object'>)") == 0);
    CHECK(molt_decref(v) == MOLT_OK && molt_decref(mro) == MOLT_OK);
    CHECK(molt_builtin_class("NoSuchClass", &v) == MOLT_ERR_INVALID_ARGUMENT);
    CHECK(molt_class_new("Point", MOLT_NONE, d, &cls) == MOLT_OK);
    CHECK(molt_call(cls, NULL, 0, &v) == MOLT_OK);
    CHECK(molt_setattr(v, "x", one) == MOLT_OK);
    uint64_t x;
    CHECK(molt_getattr(v, "x", &x) == MOLT_OK && x == one);
    CHECK(molt_getattr(v, "caf\xc3\xa9", &x) == MOLT_OK && x == one); /* from the namespace */
    CHECK(molt_getattr(v, "y", &x) == MOLT_ERR_EXCEPTION);
    CHECK(strstr(molt_last_error(), "AttributeError: 'Point' object has no attribute 'y'") != NULL);
    CHECK(molt_err_fetch(&exc) == MOLT_OK && molt_decref(exc) == MOLT_OK);
    CHECK(molt_decref(v) == MOLT_OK);
    uint64_t bases, bad;
    items[0] = cls; items[1] = cls;
    CHECK(molt_tuple_new(items, 2, &bases) == MOLT_OK);
    CHECK(molt_class_new("Bad", bases, MOLT_NONE, &bad) == MOLT_ERR_EXCEPTION);
    CHECK(strstr(molt_last_error(), "TypeError: duplicate base class Point") != NULL);
    CHECK(molt_err_fetch(&exc) == MOLT_OK && molt_decref(exc) == MOLT_OK);
    CHECK(molt_decref(bases) == MOLT_OK);

    /* Modules: sys.argv comes from the argv storage. */
    CHECK(molt_import("sys", &sys) == MOLT_OK);
    CHECK(molt_getattr(sys, "argv", &argv) == MOLT_OK);
    CHECK(molt_len(argv, &n) == MOLT_OK && n == 0);
    CHECK(molt_decref(argv) == MOLT_OK && molt_decref(sys) == MOLT_OK);
    CHECK(molt_import("no_such_module", &v) == MOLT_ERR_EXCEPTION);
    CHECK(strstr(molt_last_error(), "ModuleNotFoundError: No module named 'no_such_module'") != NULL);
    CHECK(molt_err_fetch(&exc) == MOLT_OK && molt_decref(exc) == MOLT_OK);

    /* Raising and catching. */
    CHECK(molt_builtin_class("ValueError", &vee) == MOLT_OK);
    CHECK(molt_raise(vee, "bad input") == MOLT_OK);
    CHECK(molt_err_occurred() == 1);
    CHECK(molt_err_fetch(&exc) == MOLT_OK);
    CHECK(molt_repr(exc, &v) == MOLT_OK && strcmp(text_of(v), "ValueError('bad input')") == 0);
    CHECK(molt_decref(v) == MOLT_OK);
    CHECK(molt_raise(exc, NULL) == MOLT_OK); /* re-raise the instance */
    CHECK(molt_err_fetch(&v) == MOLT_OK && v == exc);
    CHECK(molt_decref(v) == MOLT_OK && molt_decref(exc) == MOLT_OK);
    CHECK(molt_raise(one, NULL) == MOLT_ERR_EXCEPTION); /* not an exception */
    CHECK(molt_err_fetch(&exc) == MOLT_OK && molt_decref(exc) == MOLT_OK);
    CHECK(molt_err_fetch(&exc) == MOLT_OK && exc == MOLT_NONE);

    /* Freed objects are rejected, not resolved (no double free). */
    CHECK(molt_decref(d) == MOLT_OK);
    CHECK(molt_decref(d) == MOLT_ERR_STALE_VALUE);
    CHECK(molt_decref(l) == MOLT_OK && molt_decref(t) == MOLT_OK);
    /* `s` is kept past shutdown by the caller. */
}

/* Task bodies (MoltTaskFn): they run on the runtime's worker threads. */
static int32_t task_make_str(void *user_data, uint64_t *result) {
    (void)user_data;
    /* A task starts with no exception of its own, whatever its spawner has in flight. */
    if (molt_err_occurred() != 0) return MOLT_ERR_INVALID_ARGUMENT;
    return molt_str_from_utf8("from C", 6, result);
}

static int32_t task_raise(void *user_data, uint64_t *result) {
    uint64_t cls;
    (void)result;
    if (molt_builtin_class("ValueError", &cls) != MOLT_OK) return MOLT_ERR_INVALID_ARGUMENT;
    if (molt_raise(cls, (const char *)user_data) != MOLT_OK) return MOLT_ERR_INVALID_ARGUMENT;
    return MOLT_ERR_EXCEPTION;
}

static int32_t task_sleep_long(void *user_data, uint64_t *result) {
    (void)result;
    *(volatile int *)user_data = 1;
    /* Cancelled by shutdown: returns MOLT_ERR_EXCEPTION with CancelledError raised. */
    return molt_sleep(3600.0);
}

static int32_t task_check(void *user_data, uint64_t *result) {
    (void)user_data;
    (void)result;
    return molt_task_check_cancelled();
}

/* Tasks through the ABI. Leaves one task sleeping, for shutdown to cancel. */
static void tasks(void) {
    MoltTask a, b, c, d;
    uint64_t v, exc, vee;
    int32_t state = -1, took = -1;
    static volatile int asleep = 0;

    /* The spawner has an exception in flight; tasks do not see it. */
    CHECK(molt_builtin_class("KeyError", &vee) == MOLT_OK);
    CHECK(molt_raise(vee, "spawner's") == MOLT_OK);
    CHECK(molt_task_spawn(task_make_str, NULL, &a) == MOLT_OK);
    CHECK(molt_task_join(a, &v) == MOLT_OK && strcmp(text_of(v), "from C") == 0);
    CHECK(molt_decref(v) == MOLT_OK);
    CHECK(molt_err_fetch(&exc) == MOLT_OK && exc != MOLT_NONE && molt_decref(exc) == MOLT_OK);
    CHECK(molt_task_join(a, &v) == MOLT_ERR_STALE_VALUE); /* joined already */

    CHECK(molt_task_spawn(task_raise, "raised in a task", &b) == MOLT_OK);
    CHECK(molt_task_join(b, &v) == MOLT_ERR_EXCEPTION);
    CHECK(strstr(molt_last_error(), "ValueError: raised in a task") != NULL);
    CHECK(molt_err_fetch(&exc) == MOLT_OK && exc != MOLT_NONE && molt_decref(exc) == MOLT_OK);

    CHECK(molt_task_spawn_after(3600.0, task_make_str, NULL, &c) == MOLT_OK);
    CHECK(molt_task_state(c, &state) == MOLT_OK && state == MOLT_TASK_PENDING);
    CHECK(molt_task_cancel(c, "never mind", &took) == MOLT_OK && took == 1);
    CHECK(molt_task_state(c, &state) == MOLT_OK && state == MOLT_TASK_CANCELLED);
    CHECK(molt_task_join(c, &v) == MOLT_ERR_EXCEPTION);
    CHECK(strstr(molt_last_error(), "CancelledError: never mind") != NULL);
    CHECK(molt_err_fetch(&exc) == MOLT_OK && exc != MOLT_NONE && molt_decref(exc) == MOLT_OK);

    CHECK(molt_task_spawn(task_check, NULL, &d) == MOLT_OK);
    CHECK(molt_task_join(d, &v) == MOLT_OK && v == MOLT_NONE);

    /* Bad arguments. */
    CHECK(molt_task_spawn(NULL, NULL, &d) == MOLT_ERR_INVALID_ARGUMENT);
    CHECK(molt_task_spawn(task_make_str, NULL, NULL) == MOLT_ERR_INVALID_ARGUMENT);
    CHECK(molt_task_spawn_after(-1.0, task_make_str, NULL, &d) == MOLT_ERR_INVALID_ARGUMENT);
    CHECK(molt_task_join(c, NULL) == MOLT_ERR_INVALID_ARGUMENT);
    MoltTask forged = {12345, 1};
    CHECK(molt_task_cancel(forged, NULL, NULL) == MOLT_ERR_STALE_VALUE);
    CHECK(molt_task_check_cancelled() == MOLT_ERR_INVALID_ARGUMENT); /* not in a task */
    CHECK(molt_sleep(0.001) == MOLT_OK);
    CHECK(molt_sleep(-1.0) == MOLT_ERR_INVALID_ARGUMENT);

    /* A sleeping task: shutdown cancels it and joins the workers. */
    CHECK(molt_task_spawn(task_sleep_long, (void *)&asleep, &d) == MOLT_OK);
    while (!asleep) molt_sleep(0.001);
}

/* Anonymous resident memory in KiB (Linux), or -1. */
static long rss_anon_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "RssAnon:", 8) == 0) {
            kib = strtol(line + 8, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

int main(int argc, char **argv) {
    long cycles = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
    /* "--no-rss": skip the RSS bound. Under valgrind the RSS is valgrind's own (its
     * allocator never returns memory), and memcheck's leak check is the stronger proof. */
    int check_rss = !(argc > 2 && strcmp(argv[2], "--no-rss") == 0);

    /* No runtime: every entry point is gated. */
    size_t n = 0;
    CHECK(molt_runtime_is_initialized() == 0);
    CHECK(molt_runtime_argv_len(&n) == MOLT_ERR_NOT_INITIALIZED);
    CHECK(molt_last_error() != NULL && strstr(molt_last_error(), "no runtime") != NULL);
    CHECK(molt_capability_require("fs.read") == MOLT_ERR_NOT_INITIALIZED);
    CHECK(molt_runtime_shutdown() == MOLT_OK); /* before init: a no-op */

    /* Init twice, shutdown twice, init again. */
    CHECK(molt_runtime_init() == MOLT_OK);
    CHECK(molt_runtime_init() == MOLT_OK);
    CHECK(molt_runtime_is_initialized() == 1);
    uint64_t generation = molt_runtime_generation();

    const char *args[] = {"host", "--flag", "caf\xc3\xa9"};
    CHECK(molt_runtime_set_argv(3, args) == MOLT_OK);
    CHECK(molt_runtime_argv_len(&n) == MOLT_OK && n == 3);
    char buf[16];
    size_t len = 0;
    CHECK(molt_runtime_argv_get(2, buf, sizeof buf, &len) == MOLT_OK);
    CHECK(len == 5 && strcmp(buf, "caf\xc3\xa9") == 0);
    CHECK(molt_runtime_argv_get(3, buf, sizeof buf, &len) == MOLT_ERR_INDEX);
    CHECK(molt_runtime_argv_get(0, buf, 2, &len) == MOLT_ERR_INVALID_ARGUMENT && len == 4);
    CHECK(molt_runtime_set_argv(-1, args) == MOLT_ERR_INVALID_ARGUMENT);
    CHECK(molt_runtime_set_argv(1, NULL) == MOLT_ERR_INVALID_ARGUMENT);
    CHECK(molt_capability_require(NULL) == MOLT_ERR_INVALID_ARGUMENT);
    CHECK(molt_capability_require("host.never-granted") == MOLT_ERR_PERMISSION);
    CHECK(strstr(molt_last_error(), "PermissionError") != NULL);

    CHECK(molt_runtime_shutdown() == MOLT_OK);
    CHECK(molt_runtime_shutdown() == MOLT_OK);
    CHECK(molt_runtime_is_initialized() == 0);
    CHECK(molt_runtime_generation() == generation + 1);
    CHECK(molt_last_teardown_report() != NULL &&
          strstr(molt_last_teardown_report(), "teardown report") != NULL);
    CHECK(molt_runtime_argv_len(&n) == MOLT_ERR_NOT_INITIALIZED);
    CHECK(molt_runtime_init() == MOLT_OK);
    CHECK(molt_runtime_argv_len(&n) == MOLT_OK && n == 0); /* fresh runtime */
    objects();
    uint64_t kept = 0, fresh = 0;
    CHECK(molt_str_from_utf8("kept", 4, &kept) == MOLT_OK);
    CHECK(molt_runtime_shutdown() == MOLT_OK);
    CHECK(strstr(molt_last_teardown_report(), "objects live at shutdown (reclaimed): str ") != NULL);
    CHECK(strstr(molt_last_teardown_report(), "leak report: empty") != NULL);

    /* Tasks, then a shutdown that cancels a sleeping task and joins the workers. */
    CHECK(molt_runtime_init() == MOLT_OK);
    tasks();
    CHECK(molt_runtime_shutdown() == MOLT_OK);
    CHECK(strstr(molt_last_teardown_report(), "(sleeping 1)") != NULL);
    CHECK(strstr(molt_last_teardown_report(), "sleep worker joined") != NULL);
    CHECK(strstr(molt_last_teardown_report(), "leak report: empty") != NULL);

    /* No runtime: object and task calls are gated too. */
    MoltTask none_task;
    CHECK(molt_task_spawn(task_make_str, NULL, &none_task) == MOLT_ERR_NOT_INITIALIZED);
    CHECK(molt_sleep(0.0) == MOLT_ERR_NOT_INITIALIZED);
    CHECK(molt_decref(kept) == MOLT_ERR_NOT_INITIALIZED);
    CHECK(molt_str_from_utf8("x", 1, &fresh) == MOLT_ERR_NOT_INITIALIZED);
    CHECK(molt_err_occurred() == MOLT_ERR_NOT_INITIALIZED);

    /* A value kept past shutdown is rejected by the next runtime, even when a new object
     * sits in its slot. */
    CHECK(molt_runtime_init() == MOLT_OK);
    CHECK(molt_str_from_utf8("fresh", 5, &fresh) == MOLT_OK);
    CHECK(molt_len(kept, &n) == MOLT_ERR_STALE_VALUE);
    CHECK(strstr(molt_last_error(), "stale or foreign value") != NULL);
    CHECK(molt_decref(kept) == MOLT_ERR_STALE_VALUE);
    CHECK(molt_len(fresh, &n) == MOLT_OK && n == 5);
    CHECK(molt_len(0x7ff0000000000001ull, &n) == MOLT_ERR_STALE_VALUE); /* a signalling NaN */
    CHECK(molt_decref(fresh) == MOLT_OK);
    CHECK(molt_runtime_shutdown() == MOLT_OK);

    /* Cycles: warm up (worker threads included: glibc keeps their stacks and malloc arenas
     * for reuse), then measure. */
    for (int i = 0; i < 100 && i < cycles; i++) {
        molt_runtime_init();
        if (i % 10 == 0) {
            MoltTask t;
            uint64_t r = 0;
            if (molt_task_spawn(task_make_str, NULL, &t) == MOLT_OK &&
                molt_task_join(t, &r) == MOLT_OK)
                molt_decref(r);
        }
        molt_runtime_shutdown();
    }
    long before = rss_anon_kib();
    for (long i = 0; i < cycles; i++) {
        uint64_t a = 0, b = 0, c = 0;
        if (molt_runtime_init() != MOLT_OK || molt_str_from_utf8("abc", 3, &a) != MOLT_OK ||
            molt_list_new(&a, 1, &b) != MOLT_OK ||
            molt_call_method(a, "upper", NULL, 0, &c) != MOLT_OK) {
            fprintf(stderr, "cycle %ld failed: %s\n", i, molt_last_error());
            failures++;
            break;
        }
        if (i % 100 == 0) {
            MoltTask t;
            uint64_t r = 0;
            if (molt_task_spawn(task_make_str, NULL, &t) != MOLT_OK ||
                molt_task_join(t, &r) != MOLT_OK || molt_decref(r) != MOLT_OK) {
                fprintf(stderr, "cycle %ld: task failed: %s\n", i, molt_last_error());
                failures++;
                break;
            }
        }
        if (molt_runtime_shutdown() != MOLT_OK) {
            fprintf(stderr, "cycle %ld failed: %s\n", i, molt_last_error());
            failures++;
            break;
        }
    }
    long after = rss_anon_kib();
    printf("cycles=%ld rss_anon_before_kib=%ld rss_anon_after_kib=%ld growth_kib=%ld\n",
           cycles, before, after, after - before);
    if (check_rss && before >= 0 && after - before > 64) {
        fprintf(stderr, "anonymous RSS grew by %ld KiB over %ld cycles\n", after - before,
                cycles);
        failures++;
    }
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
