#include <cblas.h>
/* OpenBLAS extension: the trainer runs one cluster per core and keeps BLAS single-threaded. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
