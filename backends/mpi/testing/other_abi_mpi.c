/*
 * A library with MPI's function names whose version string names neither Open MPI nor MPICH:
 * backends/mpi/mpi.test.ts checks that xt refuses it instead of guessing its handles.
 * Never initialized: only MPI_Get_library_version is called.
 */
#include <string.h>
int MPI_Get_library_version(char *v, int *len) { strcpy(v, "FooMPI 1.0, some vendor"); *len = (int)strlen(v); return 0; }
int MPI_Initialized(int *f) { *f = 0; return 0; }
int MPI_Finalized(int *f) { *f = 0; return 0; }
int MPI_Init_thread(int *a, char ***b, int r, int *p) { (void)a; (void)b; *p = r; return 0; }
int MPI_Error_string(int c, char *s, int *l) { (void)c; s[0] = 0; *l = 0; return 0; }
int MPI_Comm_rank(int c, int *r) { (void)c; *r = 0; return 0; }
int MPI_Comm_size(int c, int *s) { (void)c; *s = 1; return 0; }
int MPI_Allreduce(void) { return 1; }
int MPI_Iallreduce(void) { return 1; }
int MPI_Test(void) { return 1; }
int MPI_Wait(void) { return 1; }
int MPI_Bcast(void) { return 1; }
int MPI_Barrier(void) { return 1; }
int MPI_Abort(void) { return 1; }
int MPI_Finalize(void) { return 0; }
