/*
 * A stand-in for libnccl.so.2 with NCCL's C signatures, for backends/nccl/nccl.test.ts on machines
 * without GPUs. It records the arguments each call received (readable with fake_nccl_record) and,
 * built with -DOVER_MPI (mpicc), performs ncclAllReduce with MPI_Allreduce on the buffer: with the
 * CUDA driver emulator, "device" pointers are host memory, so two ranks really average gradients.
 * ncclCommInitRank takes the unique id by value, as the real one does: that is the point.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#ifdef OVER_MPI
#include <mpi.h>
#endif

typedef struct { char internal[128]; } ncclUniqueId;
typedef struct FakeComm { int nranks, rank; } *ncclComm_t;

static char record[4096];
static struct FakeComm comms[16];
static int ncomms;

int fake_nccl_record(char *out, int len) {
  snprintf(out, (size_t)len, "%s", record);
  return (int)strlen(record);
}

int ncclGetVersion(int *version) { *version = 22105; return 0; }

const char *ncclGetErrorString(int rc) {
  switch (rc) {
    case 0: return "no error";
    case 4: return "invalid argument";
    case 5: return "invalid usage";
    default: return "unknown result";
  }
}

int ncclGetUniqueId(ncclUniqueId *id) {
  for (int i = 0; i < 128; i++) id->internal[i] = (char)(i * 7 + 3);
  return 0;
}

int ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank) {
  unsigned sum = 0;
  int pattern = 1;
  for (int i = 0; i < 128; i++) {
    sum = sum * 31 + (unsigned char)id.internal[i];
    if (id.internal[i] != (char)(i * 7 + 3)) pattern = 0;
  }
  snprintf(record, sizeof record, "init nranks=%d rank=%d id_is_pattern=%d id_hash=%u first=%d last=%d", nranks, rank, pattern, sum,
           (unsigned char)id.internal[0], (unsigned char)id.internal[127]);
  if (nranks < 1 || rank < 0 || rank >= nranks || ncomms == 16) return 4;
  comms[ncomms].nranks = nranks;
  comms[ncomms].rank = rank;
  *comm = &comms[ncomms++];
  return 0;
}

int ncclAllReduce(const void *send, void *recv, size_t count, int datatype, int op, ncclComm_t comm, void *stream) {
  snprintf(record, sizeof record, "allreduce send=%llu recv=%llu count=%llu datatype=%d op=%d comm_ok=%d stream=%llu",
           (unsigned long long)(uintptr_t)send, (unsigned long long)(uintptr_t)recv, (unsigned long long)count, datatype, op,
           comm >= comms && comm < comms + ncomms, (unsigned long long)(uintptr_t)stream);
  if (comm < comms || comm >= comms + ncomms) return 4;
  if (datatype != 7 && datatype != 8) return 4;
  if (op != 0) return 4;
#ifdef OVER_MPI
  MPI_Datatype t = datatype == 7 ? MPI_FLOAT : MPI_DOUBLE;
  if (MPI_Allreduce(send == recv ? MPI_IN_PLACE : send, recv, (int)count, t, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS) return 5;
#endif
  return 0;
}

int ncclCommDestroy(ncclComm_t comm) {
  snprintf(record, sizeof record, "destroy comm_ok=%d", comm >= comms && comm < comms + ncomms);
  return 0;
}
