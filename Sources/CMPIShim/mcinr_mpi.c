/* Run-time binding of the MPI calls in mcinr_mpi.h (see there). Open MPI's handles are
 * pointers to global objects, so a handle is the address dlsym returns for the object. */
#define _GNU_SOURCE
#include "mcinr_mpi.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void *handle_t;
typedef int (*init_thread_f)(int *, char ***, int, int *);
typedef int (*comm_int_f)(handle_t, int *);
typedef int (*barrier_f)(handle_t);
typedef int (*allreduce_f)(const void *, void *, int, handle_t, handle_t, handle_t);
typedef int (*bcast_f)(void *, int, handle_t, int, handle_t);
typedef int (*alltoall_f)(const void *, int, handle_t, void *, int, handle_t, handle_t);
typedef int (*allgather_f)(const void *, int, handle_t, void *, int, handle_t, handle_t);
typedef int (*allgatherv_f)(const void *, int, handle_t, void *, const int *, const int *, handle_t, handle_t);
typedef int (*gatherv_f)(const void *, int, handle_t, void *, const int *, const int *, handle_t, int, handle_t);
typedef int (*alltoallv_f)(const void *, const int *, const int *, handle_t, void *, const int *, const int *,
                           handle_t, handle_t);
typedef int (*ibarrier_f)(handle_t, void **);
typedef int (*test_f)(void **, int *, void *);
typedef int (*abort_f)(handle_t, int);
typedef int (*finalize_f)(void);

static struct {
    int active, rank, size;
    void *library;
    handle_t world, byte, dbl, sum, max;
    comm_int_f comm_rank, comm_size;
    barrier_f barrier;
    allreduce_f allreduce;
    bcast_f bcast;
    alltoall_f alltoall;
    allgather_f allgather;
    allgatherv_f allgatherv;
    gatherv_f gatherv;
    alltoallv_f alltoallv;
    ibarrier_f ibarrier;
    test_f test;
    abort_f abort_;
    finalize_f finalize;
} mpi = {0, 0, 1};

int mcinr_mpi_launched(void) {
    const char *forced = getenv("MCINR_MPI");
    if (forced && strcmp(forced, "0") == 0) return 0;
    return getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMIX_RANK") != NULL;
}

int mcinr_mpi_init(char *error, size_t length) {
    if (mpi.active || !mcinr_mpi_launched()) return 0;
    const char *name = getenv("MCINR_MPI_LIBRARY");
    if (!name || !*name) name = "libmpi.so.40";
    /* RTLD_GLOBAL: Open MPI's own plugins resolve symbols of libmpi / libopen-pal. */
    mpi.library = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
    if (!mpi.library) {
        snprintf(error, length, "started by an MPI launcher, but %s cannot be loaded (%s); install Open MPI (libopenmpi3 / openmpi-bin) or set MCINR_MPI_LIBRARY", name, dlerror());
        return 1;
    }
    struct { const char *symbol; void **slot; } table[] = {
        {"ompi_mpi_comm_world", &mpi.world}, {"ompi_mpi_byte", &mpi.byte}, {"ompi_mpi_double", &mpi.dbl},
        {"ompi_mpi_op_sum", &mpi.sum}, {"ompi_mpi_op_max", &mpi.max},
        {"MPI_Comm_rank", (void **)&mpi.comm_rank}, {"MPI_Comm_size", (void **)&mpi.comm_size},
        {"MPI_Barrier", (void **)&mpi.barrier}, {"MPI_Allreduce", (void **)&mpi.allreduce},
        {"MPI_Bcast", (void **)&mpi.bcast}, {"MPI_Alltoall", (void **)&mpi.alltoall},
        {"MPI_Allgather", (void **)&mpi.allgather}, {"MPI_Allgatherv", (void **)&mpi.allgatherv},
        {"MPI_Gatherv", (void **)&mpi.gatherv}, {"MPI_Alltoallv", (void **)&mpi.alltoallv},
        {"MPI_Ibarrier", (void **)&mpi.ibarrier}, {"MPI_Test", (void **)&mpi.test},
        {"MPI_Abort", (void **)&mpi.abort_}, {"MPI_Finalize", (void **)&mpi.finalize},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        *table[i].slot = dlsym(mpi.library, table[i].symbol);
        if (!*table[i].slot) {
            snprintf(error, length, "%s has no symbol %s: only Open MPI (libmpi.so.40) is supported", name, table[i].symbol);
            return 1;
        }
    }
    init_thread_f init_thread = (init_thread_f)dlsym(mpi.library, "MPI_Init_thread");
    if (!init_thread) {
        snprintf(error, length, "%s has no MPI_Init_thread", name);
        return 1;
    }
    int provided = 0;
    int rc = init_thread(NULL, NULL, 1 /* MPI_THREAD_FUNNELED */, &provided);
    if (rc != 0) {
        snprintf(error, length, "MPI_Init_thread failed (error %d)", rc);
        return 1;
    }
    mpi.comm_rank(mpi.world, &mpi.rank);
    mpi.comm_size(mpi.world, &mpi.size);
    mpi.active = 1;
    return 0;
}

int mcinr_mpi_active(void) { return mpi.active; }
int mcinr_mpi_rank(void) { return mpi.rank; }
int mcinr_mpi_size(void) { return mpi.size; }

int mcinr_mpi_barrier(void) { return mpi.active ? mpi.barrier(mpi.world) : 0; }

int mcinr_mpi_quiet_barrier(int sleep_microseconds) {
    if (!mpi.active) return 0;
    void *request = NULL;
    int rc = mpi.ibarrier(mpi.world, &request);
    if (rc != 0) return rc;
    struct timespec pause = {0, (long)sleep_microseconds * 1000L};
    for (;;) {
        int done = 0;
        rc = mpi.test(&request, &done, NULL /* MPI_STATUS_IGNORE */);
        if (rc != 0 || done) return rc;
        nanosleep(&pause, NULL);
    }
}

int mcinr_mpi_allreduce_double(const double *in, double *out, int count, int op) {
    if (!mpi.active) {
        memcpy(out, in, (size_t)count * sizeof(double));
        return 0;
    }
    return mpi.allreduce(in, out, count, mpi.dbl, op == 1 ? mpi.max : mpi.sum, mpi.world);
}

int mcinr_mpi_bcast_bytes(void *data, int bytes, int root) {
    return mpi.active ? mpi.bcast(data, bytes, mpi.byte, root, mpi.world) : 0;
}

int mcinr_mpi_alltoall_bytes(const void *send, void *recv, int bytes_per_rank) {
    if (!mpi.active) {
        memcpy(recv, send, (size_t)bytes_per_rank);
        return 0;
    }
    return mpi.alltoall(send, bytes_per_rank, mpi.byte, recv, bytes_per_rank, mpi.byte, mpi.world);
}

int mcinr_mpi_allgather_bytes(const void *send, void *recv, int bytes) {
    if (!mpi.active) {
        memcpy(recv, send, (size_t)bytes);
        return 0;
    }
    return mpi.allgather(send, bytes, mpi.byte, recv, bytes, mpi.byte, mpi.world);
}

int mcinr_mpi_allgatherv_bytes(const void *send, int bytes, void *recv, const int *counts, const int *displs) {
    if (!mpi.active) {
        memcpy((char *)recv + displs[0], send, (size_t)bytes);
        return 0;
    }
    return mpi.allgatherv(send, bytes, mpi.byte, recv, counts, displs, mpi.byte, mpi.world);
}

int mcinr_mpi_gatherv_bytes(const void *send, int bytes, void *recv, const int *counts, const int *displs, int root) {
    if (!mpi.active) {
        memcpy((char *)recv + displs[0], send, (size_t)bytes);
        return 0;
    }
    return mpi.gatherv(send, bytes, mpi.byte, recv, counts, displs, mpi.byte, root, mpi.world);
}

int mcinr_mpi_alltoallv_bytes(const void *send, const int *send_counts, const int *send_displs,
                              void *recv, const int *recv_counts, const int *recv_displs) {
    if (!mpi.active) {
        memcpy((char *)recv + recv_displs[0], (const char *)send + send_displs[0], (size_t)send_counts[0]);
        return 0;
    }
    return mpi.alltoallv(send, send_counts, send_displs, mpi.byte, recv, recv_counts, recv_displs, mpi.byte, mpi.world);
}

void mcinr_mpi_abort(int code) {
    if (mpi.active) mpi.abort_(mpi.world, code);
}

int mcinr_mpi_finalize(void) {
    if (!mpi.active) return 0;
    mpi.active = 0;
    return mpi.finalize();
}
