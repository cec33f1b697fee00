/*
 * Init failing through the C ABI (the environment makes it fail): the status is
 * MOLT_ERR_INIT_FAILED, nothing is published, entry points stay gated, and the message
 * names the cause. Prints the message; exits 0 when everything behaved.
 */
#include "molt_state.h"

#include <stdio.h>

int main(void) {
    int32_t status = molt_runtime_init();
    if (status != MOLT_ERR_INIT_FAILED) {
        fprintf(stderr, "expected MOLT_ERR_INIT_FAILED, got %d\n", status);
        return 1;
    }
    printf("%s\n", molt_last_error());
    size_t n = 0;
    if (molt_runtime_is_initialized() != 0 || molt_runtime_argv_len(&n) != MOLT_ERR_NOT_INITIALIZED) {
        fprintf(stderr, "a failed init published something\n");
        return 1;
    }
    if (molt_runtime_shutdown() != MOLT_OK) {
        fprintf(stderr, "shutdown after a failed init must be a no-op\n");
        return 1;
    }
    return 0;
}
