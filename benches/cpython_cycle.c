/* CPython's init/shutdown cycle, for comparison with molt-state's (peer-bench/benches/peers.rs,
 * cycle group): N cycles of Py_InitializeEx(0) + Py_FinalizeEx() in one process.
 *
 * Build and run with benches/cpython_cycle.sh (it compiles against python3-config --embed).
 *
 *   cpython_cycle [N] [--no-site]
 *
 * N (default 500): timed cycles, after one untimed warm-up cycle (first-time costs: page
 * faults on libpython's code, the first stat()s of the stdlib). --no-site: initialize through
 * PyConfig with site_import = 0 (no `import site`, as `python3 -S`), otherwise identical.
 *
 * Prints the per-cycle wall time (median, p10, p90, min, max, in microseconds), the median of
 * the process's CPU time per cycle (the machine is shared: wall time also counts other
 * processes' time slices; peer-bench measures thread CPU time by default), and the RSS growth
 * per cycle: resident memory from /proc/self/statm after the warm-up cycle and after the
 * last cycle, divided by N (total and anonymous = resident - file-backed shared).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double clock_us(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Resident and anonymous (resident - shared) memory in KiB. */
static void rss_kib(long *resident, long *anon) {
    long size = 0, res = 0, shared = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL || fscanf(f, "%ld %ld %ld", &size, &res, &shared) != 3) {
        fprintf(stderr, "cannot read /proc/self/statm\n");
        exit(2);
    }
    fclose(f);
    long page_kib = sysconf(_SC_PAGESIZE) / 1024;
    *resident = res * page_kib;
    *anon = (res - shared) * page_kib;
}

static void init_python(int no_site) {
    if (!no_site) {
        Py_InitializeEx(0);
        return;
    }
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    config.site_import = 0;
    config.install_signal_handlers = 0;
    PyStatus status = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status)) {
        Py_ExitStatusException(status);
    }
}

static void one_cycle(int no_site) {
    init_python(no_site);
    if (!Py_IsInitialized()) {
        fprintf(stderr, "Py_InitializeEx failed\n");
        exit(1);
    }
    if (Py_FinalizeEx() < 0) {
        fprintf(stderr, "Py_FinalizeEx failed\n");
        exit(1);
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    long n = 500;
    int no_site = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-site") == 0) {
            no_site = 1;
        } else {
            n = strtol(argv[i], NULL, 10);
        }
    }
    if (n < 1) {
        fprintf(stderr, "usage: %s [N >= 1] [--no-site]\n", argv[0]);
        return 2;
    }
    double *t = malloc((size_t)n * sizeof *t);
    double *cpu = malloc((size_t)n * sizeof *cpu);
    if (t == NULL || cpu == NULL) {
        return 2;
    }

    long rss0, anon0, rss1, anon1, rss2, anon2;
    rss_kib(&rss0, &anon0);
    one_cycle(no_site); /* warm-up, untimed */
    rss_kib(&rss1, &anon1);
    for (long i = 0; i < n; i++) {
        double c0 = clock_us(CLOCK_PROCESS_CPUTIME_ID);
        double t0 = clock_us(CLOCK_MONOTONIC);
        one_cycle(no_site);
        t[i] = clock_us(CLOCK_MONOTONIC) - t0;
        cpu[i] = clock_us(CLOCK_PROCESS_CPUTIME_ID) - c0;
    }
    rss_kib(&rss2, &anon2);

    qsort(t, (size_t)n, sizeof *t, cmp_double);
    qsort(cpu, (size_t)n, sizeof *cpu, cmp_double);
    printf("python:        %s (%s)\n", Py_GetVersion(), no_site ? "no site" : "site imported");
    printf("cycles:        %ld of Py_InitializeEx(0) + Py_FinalizeEx() (after 1 warm-up)\n", n);
    printf("cycle median:  %.1f us (wall)\n", t[n / 2]);
    printf("cycle p10/p90: %.1f / %.1f us\n", t[n / 10], t[(n * 9) / 10]);
    printf("cycle min/max: %.1f / %.1f us\n", t[0], t[n - 1]);
    printf("cycle CPU:     median %.1f us, p10/p90 %.1f / %.1f us (process CPU time)\n",
           cpu[n / 2], cpu[n / 10], cpu[(n * 9) / 10]);
    printf("RSS before:    %ld KiB (anonymous %ld KiB)\n", rss0, anon0);
    printf("RSS warm:      %ld KiB (anonymous %ld KiB) after the warm-up cycle\n", rss1, anon1);
    printf("RSS after:     %ld KiB (anonymous %ld KiB)\n", rss2, anon2);
    printf("RSS growth:    %.2f KiB/cycle (anonymous %.2f KiB/cycle) over the %ld timed cycles\n",
           (double)(rss2 - rss1) / (double)n, (double)(anon2 - anon1) / (double)n, n);
    free(t);
    free(cpu);
    return 0;
}
