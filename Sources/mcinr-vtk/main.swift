import COpenBLAS

// Parallelism comes from our own threads (clusters in training, point chunks in decoding);
// single-threaded BLAS also makes decoded values identical to what the ParaView reader shows.
openblas_set_num_threads(1)
MCINRTool.main()
