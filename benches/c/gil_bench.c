/* What a C host pays per call into molt-state, measured from a C program linked against
 * the cdylib (target/release/libmolt_state.so). Build and run with benches/c/gil_bench.sh.
 *
 * Every figure is the median (and min, max) over 7 repetitions of a timed loop of N
 * iterations, in ns per operation (one loop iteration), from clock_gettime(CLOCK_MONOTONIC).
 * N is calibrated per measurement so that one repetition takes about 75 ms
 * (GIL_BENCH_REP_MS overrides that).
 *
 * Output (stdout), one line per measurement:
 *
 *   name<TAB>median_ns<TAB>min_ns<TAB>max_ns
 *
 * and ratio lines `ratio<TAB>numerator/denominator<TAB>value<TAB>target` (target `-` when
 * there is none); lines starting with `#` are comments. Names:
 *
 *   plain_counter, call_plain_counter, atomic_counter, mutex_lock_unlock, checked_counter
 *                   same-run baselines (call_plain_counter: the plain counter's inc and dec
 *                   each behind a call that cannot be inlined; checked_counter: the held
 *                   path's checks of a handle written inline, on a mock layout, no call)
 *   <op>.unheld     each molt_* call takes the GIL for its own duration (today: always)
 *   <op>.held       molt_gil_acquire() once before the timed loop, molt_gil_release() after
 *   threads.<T>     incref+len+decref on T host threads (own str each, GIL not held):
 *                   wall time / N, i.e. ns per iteration per thread
 *
 * The GIL entry points (molt_gil_*) and molt_function_new are compiled in only with
 * MOLT_HAVE_GIL (gil_bench.sh defines it when include/molt_state.h declares
 * molt_gil_acquire): without it, the held figures and call_native are not measured.
 */
#define _GNU_SOURCE
#include "molt_state.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REPS 7
#define MAX_THREADS 4

static double rep_target_ns = 75e6;

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what, int32_t rc) {
    const char *msg = molt_last_error();
    fprintf(stderr, "gil_bench: %s failed (status %d): %s\n", what, (int)rc,
            msg != NULL ? msg : "(no message)");
    exit(1);
}

static void check(int32_t rc, const char *what) {
    if (rc != MOLT_OK) {
        die(what, rc);
    }
}

/* ---- the operations ----------------------------------------------------------------- */

/* A loop body runs n iterations and returns the OR of the statuses it got (0: all OK). */
typedef int32_t (*body_fn)(uint64_t n);

static const char TEXT[] = "hello world";
#define TEXT_LEN (sizeof TEXT - 1)

static uint64_t g_str;    /* "hello world", hash computed once before timing */
static uint64_t g_list;   /* an empty list, append + pop keep it empty */
static volatile uint64_t g_sink;

static long g_plain;
static long g_atomic;
static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;

/* A refcount-style counter in memory: load, add, store (the volatile access keeps each
 * load and store; no atomics). */
static int32_t body_plain_counter(uint64_t n) {
    volatile long *c = &g_plain;
    for (uint64_t i = 0; i < n; i++) {
        *c = *c + 1;
        *c = *c - 1;
    }
    return 0;
}

/* The same plain counter behind two calls the compiler cannot inline (through volatile
 * function pointers): the floor of any per-call API that bumps a non-atomic refcount. */
__attribute__((noinline)) static void plain_inc(volatile long *c) {
    *c = *c + 1;
}
__attribute__((noinline)) static void plain_dec(volatile long *c) {
    *c = *c - 1;
}
static void (*volatile p_inc)(volatile long *) = plain_inc;
static void (*volatile p_dec)(volatile long *) = plain_dec;

static int32_t body_call_plain_counter(uint64_t n) {
    volatile long *c = &g_plain;
    void (*inc)(volatile long *) = p_inc, (*dec)(volatile long *) = p_dec;
    for (uint64_t i = 0; i < n; i++) {
        inc(c);
        dec(c);
    }
    return 0;
}

static int32_t body_atomic_counter(uint64_t n) {
    for (uint64_t i = 0; i < n; i++) {
        __atomic_fetch_add(&g_atomic, 1, __ATOMIC_SEQ_CST);
        __atomic_fetch_sub(&g_atomic, 1, __ATOMIC_SEQ_CST);
        __asm__ __volatile__("" ::: "memory");
    }
    return 0;
}

static int32_t body_mutex(uint64_t n) {
    for (uint64_t i = 0; i < n; i++) {
        pthread_mutex_lock(&g_mutex);
        __asm__ __volatile__("" ::: "memory");
        pthread_mutex_unlock(&g_mutex);
    }
    return 0;
}

/* A validated handle's reference count, written inline in C: no call at all. A mock of the
 * held path's checks on a layout like the runtime's (the thread's identity against the
 * GIL's owner line, the handle's prefix and kind, the runtime tag, the slot's chunk by
 * doubling chunk sizes, the slot's live version, the object's kind), then the count: what
 * `molt_incref` + `molt_decref` would cost with every check kept but the call and the
 * boundary gone (say, as header inline functions). The floor of a checked handle, next to
 * the plain counter's floor of an unchecked pointer. */
struct mock_slot {
    uint32_t state;   /* version << 1 | live */
    uint32_t id;
    uint8_t obj[68];
    uint8_t kind;
    uint8_t pad[3];
    uint32_t refcnt;
    uint32_t pad2;
};
struct mock_heap {
    struct mock_slot *chunks[17];
    uint32_t shift, tag, version_start;
};
struct mock_line {
    uintptr_t holder;
    const struct mock_heap *heap;
    uint8_t active;
} __attribute__((aligned(128)));

static struct mock_line g_mock_line;
static struct mock_heap g_mock_heap;
static struct mock_slot g_mock_chunk[256];
static uint64_t g_mock_value;

static inline uintptr_t thread_identity(void) {
#if defined(__x86_64__)
    uintptr_t t;
    __asm__("mov %%fs:0, %0" : "=r"(t));
    return t;
#else
    return (uintptr_t)&g_mock_line; /* any per-process constant: the mock runs on one thread */
#endif
}

static inline struct mock_slot *mock_lookup(uint64_t v) {
    if ((v >> 50) != 0x3fff) {
        return NULL;
    }
    uint32_t kind = (uint32_t)(v >> 46) & 0xf;
    if (((0xedfu >> kind) & 1) == 0) {
        return NULL;
    }
    const struct mock_line *l = &g_mock_line;
    if (__atomic_load_n(&l->holder, __ATOMIC_RELAXED) != thread_identity() || l->active) {
        return NULL;
    }
    const struct mock_heap *h = l->heap;
    uint32_t stamp = (uint32_t)v & 0x3fffff, id = (uint32_t)(v >> 22) & 0xffffff;
    if ((stamp >> 17) != h->tag) {
        return NULL;
    }
    uint32_t version = (stamp - h->version_start) & 0x1ffff;
    uint32_t k = 31 - (uint32_t)__builtin_clz((id >> h->shift) + 1);
    if (k >= 17) {
        return NULL;
    }
    struct mock_slot *chunk = __atomic_load_n(&h->chunks[k], __ATOMIC_ACQUIRE);
    if (chunk == NULL) {
        return NULL;
    }
    struct mock_slot *s = &chunk[id - (((1u << k) - 1) << h->shift)];
    if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != (version << 1 | 1) || s->kind != kind) {
        return NULL;
    }
    return s;
}

static void mock_setup(void) {
    const uint32_t slot = 5, version = 7, tag = 3, start = 100;
    g_mock_heap.shift = 8;
    g_mock_heap.tag = tag;
    g_mock_heap.version_start = start;
    g_mock_heap.chunks[0] = g_mock_chunk;
    g_mock_chunk[slot].state = version << 1 | 1;
    g_mock_chunk[slot].kind = 0;
    g_mock_chunk[slot].refcnt = 1;
    g_mock_value = (0x3fffull << 50) | ((uint64_t)slot << 22) | (tag << 17) |
                   ((version + start) & 0x1ffff);
    g_mock_line.holder = thread_identity();
    g_mock_line.heap = &g_mock_heap;
}

static int32_t body_checked_counter(uint64_t n) {
    int32_t rc = 0;
    uint64_t v = *(volatile uint64_t *)&g_mock_value;
    for (uint64_t i = 0; i < n; i++) {
        struct mock_slot *s = mock_lookup(v);
        if (s == NULL) {
            rc |= 1;
        } else {
            s->refcnt += s->refcnt != UINT32_MAX;
        }
        s = mock_lookup(v);
        if (s == NULL || s->refcnt <= 1) {
            rc |= 1;
        } else {
            s->refcnt--;
        }
    }
    return rc;
}

static int32_t body_incref_decref(uint64_t n) {
    int32_t rc = 0;
    uint64_t s = g_str;
    for (uint64_t i = 0; i < n; i++) {
        rc |= molt_incref(s);
        rc |= molt_decref(s);
    }
    return rc;
}

static int32_t body_len(uint64_t n) {
    int32_t rc = 0;
    uint64_t s = g_str;
    size_t acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        size_t len = 0;
        rc |= molt_len(s, &len);
        acc += len;
    }
    g_sink = acc;
    return rc;
}

static int32_t body_hash(uint64_t n) {
    int32_t rc = 0;
    uint64_t s = g_str;
    uint64_t acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        int64_t h = 0;
        rc |= molt_hash(s, &h);
        acc ^= (uint64_t)h;
    }
    g_sink = acc;
    return rc;
}

static int32_t body_int_from_i64(uint64_t n) {
    int32_t rc = 0;
    uint64_t acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = 0;
        rc |= molt_int_from_i64((int64_t)(i & 1023), &v);
        acc ^= v;
    }
    g_sink = acc;
    return rc;
}

static int32_t body_str_from_utf8_decref(uint64_t n) {
    int32_t rc = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = MOLT_NONE;
        rc |= molt_str_from_utf8(TEXT, TEXT_LEN, &v);
        rc |= molt_decref(v);
    }
    return rc;
}

static int32_t body_call_method(uint64_t n) {
    int32_t rc = 0;
    uint64_t list = g_list, s = g_str;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t appended = MOLT_NONE, popped = MOLT_NONE;
        rc |= molt_call_method(list, "append", &s, 1, &appended);
        rc |= molt_call_method(list, "pop", NULL, 0, &popped);
        rc |= molt_decref(appended);
        rc |= molt_decref(popped);
    }
    return rc;
}

/* The per-thread body: incref + len + decref of the thread's own str. */
static int32_t loop_incref_len_decref(uint64_t s, uint64_t n) {
    int32_t rc = 0;
    size_t acc = 0;
    for (uint64_t i = 0; i < n; i++) {
        size_t len = 0;
        rc |= molt_incref(s);
        rc |= molt_len(s, &len);
        rc |= molt_decref(s);
        acc += len;
    }
    g_sink = acc;
    return rc;
}

static int32_t body_incref_len_decref(uint64_t n) {
    return loop_incref_len_decref(g_str, n);
}

#ifdef MOLT_HAVE_GIL
static uint64_t g_native;
static int g_native_freed;

/* The native function: returns its first argument (a new reference) or None. */
static int32_t native_first_arg(void *user_data, const uint64_t *args, size_t nargs,
                                uint64_t *result) {
    (void)user_data;
    if (nargs == 0) {
        *result = MOLT_NONE;
        return MOLT_OK;
    }
    int32_t rc = molt_incref(args[0]);
    if (rc != MOLT_OK) {
        return rc;
    }
    *result = args[0];
    return MOLT_OK;
}

static void native_free(void *user_data) {
    (*(int *)user_data)++;
}

static int32_t body_call_native(uint64_t n) {
    int32_t rc = 0;
    uint64_t f = g_native, s = g_str;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t r = MOLT_NONE;
        rc |= molt_call(f, &s, 1, &r);
        rc |= molt_decref(r);
    }
    return rc;
}
#endif

/* ---- timing -------------------------------------------------------------------------- */

struct stats {
    double median, min, max;
    uint64_t n;
};

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static struct stats summarize(double *per_op, uint64_t n) {
    qsort(per_op, REPS, sizeof per_op[0], cmp_double);
    struct stats st = {per_op[REPS / 2], per_op[0], per_op[REPS - 1], n};
    return st;
}

/* One timed loop of n iterations (ns); with `held`, the GIL is taken before the clock
 * starts and released after it stops. */
static double run_once(const char *name, body_fn body, uint64_t n, int held) {
#ifdef MOLT_HAVE_GIL
    if (held) {
        check(molt_gil_acquire(), "molt_gil_acquire");
        if (molt_gil_is_held() != 1) {
            fprintf(stderr, "gil_bench: molt_gil_is_held() is not 1 after molt_gil_acquire\n");
            exit(1);
        }
    }
#else
    (void)held;
#endif
    double t0 = now_ns();
    int32_t rc = body(n);
    double t1 = now_ns();
#ifdef MOLT_HAVE_GIL
    if (held) {
        check(molt_gil_release(), "molt_gil_release");
    }
    if (molt_gil_is_held() != 0) {
        fprintf(stderr, "gil_bench: %s: the GIL is still held after the loop\n", name);
        exit(1);
    }
#endif
    if (rc != 0) {
        die(name, rc);
    }
    return t1 - t0;
}

/* Doubles n until a loop takes at least 1/8 of the target, then scales it to the target. */
static uint64_t calibrate(const char *name, body_fn body, int held) {
    uint64_t n = 256;
    for (;;) {
        double t = run_once(name, body, n, held);
        if (t >= rep_target_ns / 8 || n >= (1ull << 40)) {
            double scaled = (double)n * rep_target_ns / (t > 1 ? t : 1);
            return scaled < 1 ? 1 : (uint64_t)scaled;
        }
        n *= 2;
    }
}

#define MAX_RESULTS 64
static struct {
    char name[64];
    struct stats st;
} results[MAX_RESULTS];
static int n_results;

static const struct stats *find(const char *name) {
    for (int i = 0; i < n_results; i++) {
        if (strcmp(results[i].name, name) == 0) {
            return &results[i].st;
        }
    }
    return NULL;
}

static void record(const char *name, struct stats st) {
    if (n_results == MAX_RESULTS) {
        fprintf(stderr, "gil_bench: too many results\n");
        exit(1);
    }
    snprintf(results[n_results].name, sizeof results[n_results].name, "%s", name);
    results[n_results].st = st;
    n_results++;
    printf("%s\t%.3f\t%.3f\t%.3f\n", name, st.median, st.min, st.max);
    fflush(stdout);
    fprintf(stderr, "  %-34s %10.3f ns  (N = %llu)\n", name, st.median, (unsigned long long)st.n);
}

static void measure(const char *name, body_fn body, int held) {
    uint64_t n = calibrate(name, body, held);
    double per_op[REPS];
    for (int r = 0; r < REPS; r++) {
        per_op[r] = run_once(name, body, n, held) / (double)n;
    }
    record(name, summarize(per_op, n));
}

/* ---- host threads -------------------------------------------------------------------- */

struct worker {
    pthread_t thread;
    int index;
    uint64_t n;
    int32_t rc;
    int32_t setup_rc;
};

static pthread_barrier_t b_ready, b_start, b_end;

static void *worker_main(void *arg) {
    struct worker *w = arg;
    char text[32];
    int len = snprintf(text, sizeof text, "worker string %d", w->index);
    uint64_t s = MOLT_NONE;
    w->setup_rc = molt_str_from_utf8(text, (size_t)len, &s);
    pthread_barrier_wait(&b_ready);
    /* One untimed warm-up round, then REPS timed ones. */
    for (int r = 0; r < REPS + 1; r++) {
        pthread_barrier_wait(&b_start);
        if (w->setup_rc == MOLT_OK) {
            w->rc |= loop_incref_len_decref(s, w->n);
        }
        pthread_barrier_wait(&b_end);
    }
    if (w->setup_rc == MOLT_OK) {
        w->rc |= molt_decref(s);
    }
    return NULL;
}

static void measure_threads(int nthreads, uint64_t n) {
    struct worker w[MAX_THREADS];
    memset(w, 0, sizeof w);
    pthread_barrier_init(&b_ready, NULL, (unsigned)nthreads + 1);
    pthread_barrier_init(&b_start, NULL, (unsigned)nthreads + 1);
    pthread_barrier_init(&b_end, NULL, (unsigned)nthreads + 1);
    for (int i = 0; i < nthreads; i++) {
        w[i].index = i;
        w[i].n = n;
        if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) {
            fprintf(stderr, "gil_bench: pthread_create failed\n");
            exit(1);
        }
    }
    pthread_barrier_wait(&b_ready);
    double per_op[REPS];
    for (int r = 0; r < REPS + 1; r++) {
        double t0 = now_ns();
        pthread_barrier_wait(&b_start);
        pthread_barrier_wait(&b_end);
        double t1 = now_ns();
        if (r > 0) {
            per_op[r - 1] = (t1 - t0) / (double)n;
        }
    }
    for (int i = 0; i < nthreads; i++) {
        pthread_join(w[i].thread, NULL);
        if (w[i].setup_rc != MOLT_OK) {
            die("molt_str_from_utf8 (worker thread)", w[i].setup_rc);
        }
        if (w[i].rc != 0) {
            die("incref+len+decref (worker thread)", w[i].rc);
        }
    }
    pthread_barrier_destroy(&b_ready);
    pthread_barrier_destroy(&b_start);
    pthread_barrier_destroy(&b_end);
    char name[32];
    snprintf(name, sizeof name, "threads.%d", nthreads);
    record(name, summarize(per_op, n));
}

/* ---- ratios -------------------------------------------------------------------------- */

static void ratio(const char *num, const char *den, const char *target) {
    const struct stats *a = find(num), *b = find(den);
    if (a == NULL || b == NULL || b->median <= 0) {
        return;
    }
    printf("ratio\t%s/%s\t%.2f\t%s\n", num, den, a->median / b->median, target);
}

/* ---- main ---------------------------------------------------------------------------- */

struct op {
    const char *name;
    body_fn body;
};

int main(void) {
    const char *ms = getenv("GIL_BENCH_REP_MS");
    if (ms != NULL && atof(ms) > 0) {
        rep_target_ns = atof(ms) * 1e6;
    }

    check(molt_runtime_init(), "molt_runtime_init");
    check(molt_str_from_utf8(TEXT, TEXT_LEN, &g_str), "molt_str_from_utf8");
    check(molt_list_new(NULL, 0, &g_list), "molt_list_new");
    int64_t first_hash = 0;
    check(molt_hash(g_str, &first_hash), "molt_hash (first)");
#ifdef MOLT_HAVE_GIL
    check(molt_function_new("first_arg", native_first_arg, &g_native_freed, native_free,
                            &g_native),
          "molt_function_new");
    if (molt_gil_is_held() != 0) {
        fprintf(stderr, "gil_bench: the GIL is held before any molt_gil_acquire\n");
        return 1;
    }
#endif

    printf("# molt-state C host benchmark (benches/c/gil_bench.c): ns per operation,\n");
    printf("# median/min/max of %d repetitions, each a loop of N iterations of about %.0f ms\n",
           REPS, rep_target_ns / 1e6);
    printf("# columns: name\tmedian_ns\tmin_ns\tmax_ns; ratio lines: ratio\tnum/den\tvalue\ttarget\n");
    printf("# online CPUs: %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
#ifdef MOLT_HAVE_GIL
    printf("# MOLT_HAVE_GIL: yes (held figures and call_native measured)\n");
#else
    printf("# MOLT_HAVE_GIL: no (the header has no molt_gil_acquire: only unheld figures)\n");
#endif
    printf("# hash_cached: molt_hash was called once before timing (the str caches its hash),\n");
    printf("#   so the timed calls read the cached hash\n");
    fflush(stdout);

    fprintf(stderr, "baselines\n");
    measure("plain_counter", body_plain_counter, 0);
    measure("call_plain_counter", body_call_plain_counter, 0);
    measure("atomic_counter", body_atomic_counter, 0);
    measure("mutex_lock_unlock", body_mutex, 0);
    mock_setup();
    measure("checked_counter", body_checked_counter, 0);

    const struct op ops[] = {
        {"incref_decref", body_incref_decref},
        {"len", body_len},
        {"hash_cached", body_hash},
        {"int_from_i64", body_int_from_i64},
        {"str_from_utf8_decref", body_str_from_utf8_decref},
        {"call_method_append_pop", body_call_method},
#ifdef MOLT_HAVE_GIL
        {"call_native", body_call_native},
#endif
    };
    const size_t n_ops = sizeof ops / sizeof ops[0];
    char name[64];
    fprintf(stderr, "unheld: every call takes the GIL for its own duration\n");
    for (size_t i = 0; i < n_ops; i++) {
        snprintf(name, sizeof name, "%s.unheld", ops[i].name);
        measure(name, ops[i].body, 0);
    }
#ifdef MOLT_HAVE_GIL
    fprintf(stderr, "held: molt_gil_acquire() before the loop, molt_gil_release() after\n");
    for (size_t i = 0; i < n_ops; i++) {
        snprintf(name, sizeof name, "%s.held", ops[i].name);
        measure(name, ops[i].body, 1);
    }
#endif

    fprintf(stderr, "host threads: incref+len+decref, own str per thread, GIL not held\n");
    uint64_t n_threads = calibrate("threads calibration", body_incref_len_decref, 0);
    for (int t = 1; t <= MAX_THREADS; t *= 2) {
        measure_threads(t, n_threads);
    }

    ratio("threads.2", "threads.1", "-");
    ratio("threads.4", "threads.1", "-");
#ifdef MOLT_HAVE_GIL
    for (size_t i = 0; i < n_ops; i++) {
        snprintf(name, sizeof name, "%s.held", ops[i].name);
        const char *target = "-";
        if (strcmp(ops[i].name, "incref_decref") == 0) {
            target = "<=4";
        } else if (strcmp(ops[i].name, "int_from_i64") == 0) {
            target = "<=2";
        }
        ratio(name, "plain_counter", target);
        ratio(name, "call_plain_counter", target);
        ratio(name, "checked_counter", "-");
    }
#endif
    printf("# N per repetition:");
    for (int i = 0; i < n_results; i++) {
        printf(" %s=%llu", results[i].name, (unsigned long long)results[i].st.n);
    }
    printf("\n");

    int64_t h = 0;
    check(molt_hash(g_str, &h), "molt_hash (last)");
    if (h != first_hash) {
        fprintf(stderr, "gil_bench: the hash of the str changed\n");
        return 1;
    }
    check(molt_decref(g_list), "molt_decref (list)");
    check(molt_decref(g_str), "molt_decref (str)");
#ifdef MOLT_HAVE_GIL
    check(molt_decref(g_native), "molt_decref (native function)");
#endif
    check(molt_runtime_shutdown(), "molt_runtime_shutdown");
#ifdef MOLT_HAVE_GIL
    printf("# native function user_data freed %d time(s) by shutdown\n", g_native_freed);
#endif
    return 0;
}
