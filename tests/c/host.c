/*
 * A C host driving molt-state's C ABI the way generated code and test harnesses do:
 * calls with no runtime, init twice, shutdown twice, init again, argv, capabilities,
 * then N init/shutdown cycles with the anonymous RSS measured before and after.
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
    CHECK(molt_runtime_shutdown() == MOLT_OK);

    /* Cycles: warm up, then measure. */
    for (int i = 0; i < 100 && i < cycles; i++) {
        molt_runtime_init();
        molt_runtime_shutdown();
    }
    long before = rss_anon_kib();
    for (long i = 0; i < cycles; i++) {
        if (molt_runtime_init() != MOLT_OK || molt_runtime_shutdown() != MOLT_OK) {
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
