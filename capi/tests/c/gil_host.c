/* The GIL and native functions as a C host sees them (tests/all/c_host.rs builds and runs
 * this; CI also runs it under valgrind). Each check prints what failed and exits 1. */
#define _POSIX_C_SOURCE 200809L
#include "molt_state.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            const char *e = molt_last_error();                                            \
            fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__, __LINE__, \
                    #cond, e ? e : "none");                                               \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int freed = 0;
static void free_counter(void *data) {
    (void)data;
    freed += 1;
}

/* Returns args[0] (a new reference) or None; touches the runtime (re-entry). */
static int32_t identity(void *data, const uint64_t *args, size_t nargs, uint64_t *result) {
    int *calls = data;
    *calls += 1;
    if (molt_gil_is_held() != 1) return -100;
    if (nargs == 0) return MOLT_OK;
    if (molt_incref(args[0]) != MOLT_OK) return MOLT_ERR_EXCEPTION;
    *result = args[0];
    return MOLT_OK;
}

/* Calls itself through molt_call until the recursion limit raises. */
static uint64_t recursive_fn;
static int32_t recurse(void *data, const uint64_t *args, size_t nargs, uint64_t *result) {
    (void)data;
    (void)args;
    (void)nargs;
    return molt_call(recursive_fn, NULL, 0, result);
}

/* Raises ValueError. */
static int32_t raiser(void *data, const uint64_t *args, size_t nargs, uint64_t *result) {
    (void)data;
    (void)args;
    (void)nargs;
    (void)result;
    uint64_t cls;
    if (molt_builtin_class("ValueError", &cls) != MOLT_OK) return -100;
    if (molt_raise(cls, "from C") != MOLT_OK) return -100;
    return MOLT_ERR_EXCEPTION;
}

/* Saves the GIL, sleeps, restores it (a blocking call inside a native). */
static int32_t blocking(void *data, const uint64_t *args, size_t nargs, uint64_t *result) {
    (void)data;
    (void)args;
    (void)nargs;
    (void)result;
    uint64_t token = molt_gil_save();
    if (token == 0 || molt_gil_is_held() != 0) return -100;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
    if (molt_gil_restore(token) != MOLT_OK) return -100;
    return MOLT_OK;
}

static int holding = 0;
/* A task body that holds the GIL for a run of calls and sleeps holding it: the sleep
 * releases it and takes it back at the depth it had. */
static int32_t held_task(void *data, uint64_t *result) {
    (void)data;
    if (molt_gil_acquire() != MOLT_OK || molt_gil_acquire() != MOLT_OK) return -100;
    uint64_t s;
    if (molt_str_from_utf8("task", 4, &s) != MOLT_OK) return -100;
    if (molt_sleep(0.01) != MOLT_OK) return -100;
    if (molt_gil_is_held() != 1) return -100;
    if (molt_gil_release() != MOLT_OK || molt_gil_is_held() != 1) return -100;
    if (molt_gil_release() != MOLT_OK || molt_gil_is_held() != 0) return -100;
    *result = s;
    return MOLT_OK;
}

/* Shutdown from inside a task refuses at once. */
static int32_t shutdown_task(void *data, uint64_t *result) {
    (void)data;
    (void)result;
    double t0 = now();
    if (molt_runtime_shutdown() != MOLT_ERR_BUSY) return -100;
    if (now() - t0 > 0.5) return -101;
    return MOLT_OK;
}

static void *hold_for(void *arg) {
    double seconds = *(double *)arg;
    CHECK(molt_gil_acquire() == MOLT_OK);
    __atomic_store_n(&holding, 1, __ATOMIC_SEQ_CST);
    double t0 = now();
    while (now() - t0 < seconds) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    CHECK(molt_gil_release() == MOLT_OK);
    return NULL;
}

static void *exit_holding(void *arg) {
    (void)arg;
    CHECK(molt_gil_acquire() == MOLT_OK);
    CHECK(molt_gil_acquire() == MOLT_OK);
    return NULL; /* exits holding it at depth 2: the thread state releases it */
}

static void *try_acquire(void *arg) {
    int32_t *status = arg;
    *status = molt_gil_acquire();
    if (*status == MOLT_OK) molt_gil_release();
    return NULL;
}

int main(void) {
    /* No runtime: nothing blocks, clear errors. */
    CHECK(molt_gil_acquire() == MOLT_ERR_NOT_INITIALIZED);
    CHECK(molt_gil_is_held() == 0);
    CHECK(molt_gil_save() == 0);
    CHECK(molt_gil_restore(0) == MOLT_OK);
    CHECK(molt_runtime_init() == MOLT_OK);

    /* Re-entrant depth; release beyond it is an error. */
    CHECK(molt_gil_release() == MOLT_ERR_INVALID_ARGUMENT);
    CHECK(molt_gil_acquire() == MOLT_OK);
    CHECK(molt_gil_acquire() == MOLT_OK);
    CHECK(molt_gil_is_held() == 1);
    uint64_t s;
    CHECK(molt_str_from_utf8("held", 4, &s) == MOLT_OK);
    size_t n;
    CHECK(molt_len(s, &n) == MOLT_OK && n == 4);
    CHECK(molt_gil_release() == MOLT_OK);
    CHECK(molt_gil_is_held() == 1);
    /* save at depth 1, restore */
    uint64_t token = molt_gil_save();
    CHECK(token != 0 && molt_gil_is_held() == 0);
    CHECK(molt_gil_save() == 0);
    CHECK(molt_len(s, &n) == MOLT_OK); /* unheld path still works */
    CHECK(molt_gil_restore(token) == MOLT_OK && molt_gil_is_held() == 1);
    CHECK(molt_gil_restore(token) == MOLT_ERR_INVALID_ARGUMENT);

    /* Native functions, called held and unheld, with user data freed at shutdown. */
    int calls = 0;
    uint64_t f;
    CHECK(molt_function_new(NULL, identity, &calls, free_counter, &f) ==
          MOLT_ERR_INVALID_ARGUMENT);
    CHECK(molt_function_new("identity", NULL, &calls, free_counter, &f) ==
          MOLT_ERR_INVALID_ARGUMENT);
    CHECK(molt_function_new("identity", identity, &calls, free_counter, NULL) ==
          MOLT_ERR_INVALID_ARGUMENT);
    CHECK(molt_function_new("identity", identity, &calls, free_counter, &f) == MOLT_OK);
    uint64_t r;
    CHECK(molt_call(f, &s, 1, &r) == MOLT_OK && r == s);
    CHECK(molt_decref(r) == MOLT_OK);
    uint64_t repr;
    const char *text;
    size_t len;
    CHECK(molt_repr(f, &repr) == MOLT_OK);
    CHECK(molt_str_as_utf8(repr, &text, &len) == MOLT_OK);
    CHECK(len == strlen("<built-in function identity>") &&
          memcmp(text, "<built-in function identity>", len) == 0);
    CHECK(molt_decref(repr) == MOLT_OK);
    CHECK(molt_gil_release() == MOLT_OK && molt_gil_is_held() == 0);
    CHECK(molt_call(f, NULL, 0, &r) == MOLT_OK && r == MOLT_NONE);
    CHECK(calls == 2);

    /* As a method in a class namespace: bound, self first. */
    uint64_t ns, cls, inst, m;
    CHECK(molt_dict_new(&ns) == MOLT_OK);
    uint64_t key;
    CHECK(molt_str_from_utf8("me", 2, &key) == MOLT_OK);
    CHECK(molt_dict_set(ns, key, f) == MOLT_OK);
    CHECK(molt_class_new("WithNative", MOLT_NONE, ns, &cls) == MOLT_OK);
    CHECK(molt_call(cls, NULL, 0, &inst) == MOLT_OK);
    CHECK(molt_call_method(inst, "me", NULL, 0, &m) == MOLT_OK && m == inst);
    CHECK(molt_decref(m) == MOLT_OK);
    for (uint64_t *v = (uint64_t[]){inst, key, ns}; *v; v++) {
        if (*v == ns) {
            CHECK(molt_decref(ns) == MOLT_OK);
            break;
        }
        CHECK(molt_decref(*v) == MOLT_OK);
    }

    /* Raising from a native; recursion through natives is bounded. */
    uint64_t rf;
    CHECK(molt_function_new("raiser", raiser, NULL, NULL, &rf) == MOLT_OK);
    CHECK(molt_call(rf, NULL, 0, &r) == MOLT_ERR_EXCEPTION);
    CHECK(strstr(molt_last_error(), "ValueError: from C") != NULL);
    uint64_t exc;
    CHECK(molt_err_fetch(&exc) == MOLT_OK && exc != MOLT_NONE);
    CHECK(molt_decref(exc) == MOLT_OK);
    CHECK(molt_function_new("recurse", recurse, NULL, NULL, &recursive_fn) == MOLT_OK);
    CHECK(molt_call(recursive_fn, NULL, 0, &r) == MOLT_ERR_EXCEPTION);
    CHECK(strstr(molt_last_error(), "RecursionError") != NULL);
    CHECK(molt_err_fetch(&exc) == MOLT_OK && exc != MOLT_NONE);
    CHECK(molt_decref(exc) == MOLT_OK);
    CHECK(molt_gil_is_held() == 0);

    /* save/restore inside a native while another thread uses the runtime. */
    uint64_t bf;
    CHECK(molt_function_new("blocking", blocking, NULL, NULL, &bf) == MOLT_OK);
    CHECK(molt_call(bf, NULL, 0, &r) == MOLT_OK);

    /* Task bodies hold the GIL across calls; sleeping (and joining) with it held. */
    MoltTask task;
    CHECK(molt_task_spawn(held_task, NULL, &task) == MOLT_OK);
    CHECK(molt_gil_acquire() == MOLT_OK);
    CHECK(molt_task_join(task, &r) == MOLT_OK); /* waits with the GIL released */
    CHECK(molt_gil_is_held() == 1);
    CHECK(molt_len(r, &n) == MOLT_OK && n == 4);
    CHECK(molt_decref(r) == MOLT_OK);
    CHECK(molt_gil_release() == MOLT_OK);
    CHECK(molt_task_spawn(shutdown_task, NULL, &task) == MOLT_OK);
    CHECK(molt_task_join(task, &r) == MOLT_OK);

    /* A thread exiting with the GIL held releases it. */
    pthread_t t;
    CHECK(pthread_create(&t, NULL, exit_holding, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(molt_gil_acquire() == MOLT_OK);
    CHECK(molt_gil_release() == MOLT_OK);

    /* Shutdown against a holder: Busy within the bound, runtime still usable. */
    double hold = 2.5;
    CHECK(pthread_create(&t, NULL, hold_for, &hold) == 0);
    while (!__atomic_load_n(&holding, __ATOMIC_SEQ_CST)) { /* until the other holds it */
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    /* the default shutdown bound is 1 s */
    double t0 = now();
    CHECK(molt_runtime_shutdown() == MOLT_ERR_BUSY);
    double waited = now() - t0;
    CHECK(waited >= 0.9 && waited < 1.6);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(molt_len(s, &n) == MOLT_OK && n == 4);

    /* Shutdown from the holding thread succeeds; a stale save token is refused. */
    CHECK(molt_decref(s) == MOLT_OK);
    CHECK(molt_gil_acquire() == MOLT_OK);
    CHECK(molt_gil_acquire() == MOLT_OK);
    token = molt_gil_save();
    CHECK(molt_gil_acquire() == MOLT_OK);
    CHECK(freed == 0);
    CHECK(molt_runtime_shutdown() == MOLT_OK);
    CHECK(freed == 1); /* identity's user data, exactly once */
    CHECK(molt_gil_is_held() == 0);
    CHECK(molt_gil_release() == MOLT_ERR_NOT_INITIALIZED);
    CHECK(molt_gil_acquire() == MOLT_ERR_NOT_INITIALIZED);
    /* the token predates the shutdown */
    CHECK(molt_gil_restore(token) != MOLT_OK);

    /* A new runtime: old thread state never honoured; acquire during shutdown fails fast. */
    CHECK(molt_runtime_init() == MOLT_OK);
    CHECK(molt_gil_is_held() == 0);
    int32_t status = 1;
    CHECK(pthread_create(&t, NULL, try_acquire, &status) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(status == MOLT_OK);
    CHECK(molt_runtime_shutdown() == MOLT_OK);
    CHECK(freed == 1);
    /* The leak check a harness can trust: clean, then a forgotten decref shows. */
    uint64_t alive = 99, leaked = 99;
    CHECK(molt_last_teardown_is_clean() == 1);
    CHECK(molt_last_teardown_counts(&alive, &leaked) == MOLT_OK && alive == 0 && leaked == 0);
    CHECK(molt_runtime_init() == MOLT_OK);
    uint64_t forgotten;
    CHECK(molt_str_from_utf8("forgotten", 9, &forgotten) == MOLT_OK);
    CHECK(molt_runtime_shutdown() == MOLT_OK);
    CHECK(molt_last_teardown_is_clean() == 0);
    CHECK(molt_last_teardown_counts(&alive, &leaked) == MOLT_OK && alive == 1 && leaked == 0);
    CHECK(molt_last_teardown_counts(NULL, &leaked) == MOLT_ERR_INVALID_ARGUMENT);
    printf("ok\n");
    return 0;
}
