/* mcinr_mpi.h: the few MPI calls distributed training makes, reached at run time.
 *
 * The package has no build-time MPI dependency: when the process was started by an MPI
 * launcher (Open MPI's mpirun / mpiexec set OMPI_COMM_WORLD_SIZE; Slurm's srun with PMIx sets
 * PMIX_RANK), mcinr_mpi_init() dlopen()s Open MPI's libmpi.so.40 (or $MCINR_MPI_LIBRARY) and
 * resolves the functions and the predefined handles (MPI_COMM_WORLD, MPI_BYTE, MPI_DOUBLE,
 * MPI_SUM, MPI_MAX are the global objects ompi_mpi_comm_world, ompi_mpi_byte, ompi_mpi_double,
 * ompi_mpi_op_sum, ompi_mpi_op_max in Open MPI's ABI). Otherwise nothing is loaded and the
 * process is rank 0 of 1.
 *
 * Every call returns 0 on success, or MPI's error code; errors on MPI_COMM_WORLD are fatal
 * by MPI's default handler anyway. Counts are ints (MPI's); callers split larger transfers.
 * All calls come from one thread (MPI_THREAD_FUNNELED).
 */
#ifndef MCINR_MPI_H
#define MCINR_MPI_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when an MPI launcher started this process (and MCINR_MPI is not "0"), else 0. */
int mcinr_mpi_launched(void);

/* Loads MPI and calls MPI_Init_thread when launched; does nothing otherwise. On failure writes
 * a message (at most `length` bytes, NUL-terminated) and returns non-zero. */
int mcinr_mpi_init(char *error, size_t length);

/* 1 after a successful mcinr_mpi_init under a launcher. */
int mcinr_mpi_active(void);
int mcinr_mpi_rank(void);
int mcinr_mpi_size(void);

int mcinr_mpi_barrier(void);
/* A barrier that sleeps between polls instead of spinning (MPI_Ibarrier + MPI_Test): a rank
 * that waits long (for rank 0's evaluation, for a slower rank's training) leaves its core to
 * the ranks that work; the blocking collectives of Open MPI poll at 100 % CPU. */
int mcinr_mpi_quiet_barrier(int sleep_microseconds);
/* op: 0 sum, 1 max. `in` and `out` must not overlap. */
int mcinr_mpi_allreduce_double(const double *in, double *out, int count, int op);
int mcinr_mpi_bcast_bytes(void *data, int bytes, int root);
/* Every rank sends `bytes_per_rank` bytes to every rank (fixed-size exchange, e.g. counts). */
int mcinr_mpi_alltoall_bytes(const void *send, void *recv, int bytes_per_rank);
int mcinr_mpi_allgather_bytes(const void *send, void *recv, int bytes);
int mcinr_mpi_allgatherv_bytes(const void *send, int bytes, void *recv, const int *counts, const int *displs);
int mcinr_mpi_gatherv_bytes(const void *send, int bytes, void *recv, const int *counts, const int *displs, int root);
int mcinr_mpi_alltoallv_bytes(const void *send, const int *send_counts, const int *send_displs,
                              void *recv, const int *recv_counts, const int *recv_displs);
/* Ends every rank of the job with `code` (MPI_Abort); returns only without MPI. */
void mcinr_mpi_abort(int code);
int mcinr_mpi_finalize(void);

#ifdef __cplusplus
}
#endif
#endif
