/* CHECK(cond, printf-style message): counts a failure and says where, without stopping the
 * test program (which reports `failures` at its end). Shared by the C test programs. */
#ifndef MCINR_TESTS_CHECK_H
#define MCINR_TESTS_CHECK_H

#include <stdio.h>

static int failures = 0;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
        }                                                                                          \
    } while (0)

#endif
