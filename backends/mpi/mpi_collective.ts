/**
 * core/distributed's Collective on MPI_COMM_WORLD: MPI_Allreduce / MPI_Iallreduce (in place,
 * MPI_SUM) on float32 and float64, MPI_Bcast of bytes, MPI_Barrier, MPI_Abort, MPI_Finalize.
 * Buffers larger than MPI's int count are sent in pieces.
 */
import { ptr, type Pointer } from "bun:ffi";
import type { Collective, PendingReduction, ReduceBuffer } from "../../core/distributed/collective.ts";
import { XtError } from "../../core/errors.ts";
import { mpiErrorText, type MpiLibrary } from "./mpi_library.ts";

/** Elements per MPI call: MPI counts are C ints. */
export const MAX_COUNT = 0x40000000;

export class MpiCollective implements Collective {
  private finalized = false;

  constructor(
    readonly lib: MpiLibrary,
    readonly rank: number,
    readonly size: number,
  ) {}

  get description(): string {
    return `${this.lib.version} (${this.lib.path})`;
  }

  private check(rc: number, what: string): void {
    if (rc !== 0) throw new XtError(`${what} failed on rank ${this.rank}: ${mpiErrorText(this.lib, rc)}`);
  }

  private datatype(buf: ReduceBuffer): Pointer {
    if (buf instanceof Float32Array) return this.lib.h.float;
    if (buf instanceof Float64Array) return this.lib.h.double;
    throw new XtError("MPI all-reduce: only float32 and float64 buffers");
  }

  allreduceSum(buf: ReduceBuffer): void {
    const { fn, h } = this.lib;
    const type = this.datatype(buf);
    for (let off = 0; off < buf.length; off += MAX_COUNT) {
      const n = Math.min(MAX_COUNT, buf.length - off);
      this.check(fn.MPI_Allreduce(h.inPlace, ptr(buf, off * buf.BYTES_PER_ELEMENT), n, type, h.sum, h.commWorld), "MPI_Allreduce");
    }
  }

  startAllreduceSum(buf: ReduceBuffer): PendingReduction {
    const { fn, h } = this.lib;
    const type = this.datatype(buf);
    // One MPI_Request per piece (a pointer in Open MPI, an int in MPICH: 8 bytes hold either).
    const requests: BigInt64Array[] = [];
    for (let off = 0; off < buf.length; off += MAX_COUNT) {
      const n = Math.min(MAX_COUNT, buf.length - off);
      const req = new BigInt64Array(1);
      this.check(fn.MPI_Iallreduce(h.inPlace, ptr(buf, off * buf.BYTES_PER_ELEMENT), n, type, h.sum, h.commWorld, ptr(req)), "MPI_Iallreduce");
      requests.push(req);
    }
    let done = requests.length === 0;
    const flag = new Int32Array(1);
    return {
      test: () => {
        if (done) return true;
        done = true;
        for (const req of requests) {
          this.check(fn.MPI_Test(ptr(req), ptr(flag), h.statusIgnore), "MPI_Test");
          if (!flag[0]) done = false;
        }
        return done;
      },
      wait: () => {
        if (done) return;
        for (const req of requests) this.check(fn.MPI_Wait(ptr(req), h.statusIgnore), "MPI_Wait");
        done = true;
        void buf; // the buffer must live until here
      },
    };
  }

  broadcast(buf: Uint8Array, root: number): void {
    const { fn, h } = this.lib;
    for (let off = 0; off < buf.length; off += MAX_COUNT) {
      const n = Math.min(MAX_COUNT, buf.length - off);
      this.check(fn.MPI_Bcast(ptr(buf, off), n, h.byte, root, h.commWorld), "MPI_Bcast");
    }
  }

  barrier(): void {
    this.check(this.lib.fn.MPI_Barrier(this.lib.h.commWorld), "MPI_Barrier");
  }

  abort(code: number): never {
    this.finalized = true;
    // MPICH's Hydra kills every rank as soon as one aborts and can drop what this rank just wrote
    // to stderr before forwarding it (seen under load): give the launcher's I/O forwarding a moment.
    Bun.sleepSync(250);
    this.lib.fn.MPI_Abort(this.lib.h.commWorld, code);
    process.exit(code); // MPI_Abort does not return; this is for a library that does.
  }

  finalize(): void {
    if (this.finalized) return;
    this.finalized = true;
    const flag = new Int32Array(1);
    this.lib.fn.MPI_Finalized(ptr(flag));
    if (!flag[0]) this.lib.fn.MPI_Finalize();
  }
}
