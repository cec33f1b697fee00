/* molt_incref + molt_decref in a loop with the GIL held: the program benches/c/held_path_perf.sh
 * profiles, to show where the held path spends its time and that it executes no
 * lock-prefixed instruction (see BENCHMARKS.md). */
#include "molt_state.h"
#include <stdio.h>
int main(void){ molt_runtime_init(); molt_gil_acquire(); uint64_t s; molt_str_from_utf8("abc",3,&s);
for(long i=0;i<50000000;i++){ molt_incref(s); molt_decref(s);} molt_decref(s); molt_gil_release(); molt_runtime_shutdown(); puts("done"); }
