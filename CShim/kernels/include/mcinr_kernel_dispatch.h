/*
 * mcinr_kernel_dispatch.h — run-time instruction-set dispatch for the numeric kernels
 * (CShim/kernels and the trainer's Sources/CTrainingKernels). Internal to mcinr-vtk.
 *
 * MCINR_DEFINE_DISPATCHED compiles one kernel body three times — baseline x86-64, AVX2+FMA,
 * AVX-512F — and picks one per call from mcinr_kernels_level(), so no build flags are needed.
 */
#ifndef MCINR_KERNEL_DISPATCH_H
#define MCINR_KERNEL_DISPATCH_H

#include "mcinr_kernels.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define MCINR_HAVE_DISPATCH 1
#define MCINR_AVX2 __attribute__((target("avx2,fma")))
#define MCINR_AVX512 __attribute__((target("avx512f,avx2,fma")))
#else
#define MCINR_HAVE_DISPATCH 0
#endif

#if MCINR_HAVE_DISPATCH
/* Defines `void name params` running `body` compiled for the best ISA the CPU has. */
#define MCINR_DEFINE_DISPATCHED(ret, name, params, args, body)                          \
    static ret name##_generic params { body }                                          \
    MCINR_AVX2 static ret name##_avx2 params { body }                                  \
    MCINR_AVX512 static ret name##_avx512 params { body }                              \
    ret name params {                                                                  \
        switch (mcinr_kernels_level()) {                                                   \
        case 2: name##_avx512 args; break;                                             \
        case 1: name##_avx2 args; break;                                               \
        default: name##_generic args; break;                                           \
        }                                                                              \
    }
#else
#define MCINR_DEFINE_DISPATCHED(ret, name, params, args, body) ret name params { body }
#endif

#endif /* MCINR_KERNEL_DISPATCH_H */
