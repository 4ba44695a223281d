/**
 * The NCCL binding without a GPU: what happens when libnccl is absent, and whether the arguments
 * reach NCCL's C functions intact — checked against testing/fake_nccl.c compiled here, which has
 * NCCL's signatures (ncclCommInitRank takes its 128-byte id by value) and records what it got.
 * The two-rank run over the CUDA emulator is in backends/mpi/mpi_ranks.test.ts.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { dlopen, FFIType, ptr } from "bun:ffi";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CpuBackend } from "../cpu/index.ts";
import { CudaStorage } from "../cuda/index.ts";
import { SingleProcess, type Collective } from "../../core/distributed/collective.ts";
import { NcclCollective, ncclVersionText } from "./nccl.ts";

const cc = Bun.which("cc");
if (!cc) console.log("[nccl] marshalling tests skipped: no C compiler (cc)");
let so = "";
let record = (): string => "";

beforeAll(() => {
  if (!cc) return;
  so = join(mkdtempSync(join(tmpdir(), "xt-nccl-")), "libnccl_fake.so");
  execFileSync(cc, ["-shared", "-fPIC", "-o", so, join(import.meta.dir, "testing/fake_nccl.c")]);
  const lib = dlopen(so, { fake_nccl_record: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 } });
  record = () => {
    const buf = new Uint8Array(4096);
    const n = lib.symbols.fake_nccl_record(ptr(buf), buf.length);
    return new TextDecoder().decode(buf.subarray(0, n));
  };
});

/** A collective of `size` ranks as seen from `rank`, whose broadcast delivers rank 0's id bytes. */
function rankOf(rank: number, size: number, id?: Uint8Array): Collective {
  return Object.assign(new SingleProcess(), {
    rank, size,
    broadcast: (buf: Uint8Array) => { if (rank !== 0 && id) buf.set(id); },
  }) as Collective;
}

test("without libnccl the error says what to install", () => {
  expect(() => NcclCollective.open(new SingleProcess(), { library: "/nonexistent/libnccl.so.2" })).toThrow(
    /NCCL is not available: cannot load \/nonexistent\/libnccl.so.2 .*apt-get install libnccl2/,
  );
});

test("an architecture whose calling convention xt does not know is refused", () => {
  expect(() => NcclCollective.open(new SingleProcess(), { library: "/nonexistent/libnccl.so.2", arch: "riscv64" })).toThrow(/x64 and arm64 only/);
});

test("version codes before and after NCCL 2.9", () => {
  expect(ncclVersionText(22105)).toBe("2.21.5");
  expect(ncclVersionText(2804)).toBe("2.8.4");
});

describe.skipIf(!cc || process.arch !== "x64")("arguments reach NCCL's C signatures (x86-64)", () => {
  test("ncclCommInitRank receives nranks, rank and all 128 id bytes by value", () => {
    const n = NcclCollective.open(rankOf(0, 1), { library: so });
    expect(n.description).toBe(`NCCL 2.21.5 (${so})`);
    expect(record()).toMatch(/^init nranks=1 rank=0 id_is_pattern=1 .*first=3 last=124$/);
    // Rank 3 of 4 gets rank 0's id through the broadcast.
    const id = Uint8Array.from({ length: 128 }, (_, i) => (i * 7 + 3) & 0xff);
    NcclCollective.open(rankOf(3, 4, id), { library: so });
    expect(record()).toMatch(/^init nranks=4 rank=3 id_is_pattern=1 /);
  });

  test("a failing NCCL call is an error with NCCL's own words", () => {
    const bad = rankOf(2, 1); // rank ≥ nranks: ncclInvalidArgument
    expect(() => NcclCollective.open(bad, { library: so })).toThrow(/NCCL: ncclCommInitRank failed on rank 2: invalid argument \(ncclResult 4\)/);
  });

  test("ncclAllReduce gets the device pointer in place, a 64-bit count, the dtype, ncclSum and stream 0", () => {
    const n = NcclCollective.open(rankOf(0, 1), { library: so });
    const dev = 0x7f0012345600;
    n.allreduceSum(new CudaStorage("float32", 2 ** 33, dev, {}), 2 ** 32 + 3);
    expect(record()).toBe(`allreduce send=${dev} recv=${dev} count=${2 ** 32 + 3} datatype=7 op=0 comm_ok=1 stream=0`);
    n.allreduceSum(new CudaStorage("float64", 10, dev + 256, {}), 10);
    expect(record()).toBe(`allreduce send=${dev + 256} recv=${dev + 256} count=10 datatype=8 op=0 comm_ok=1 stream=0`);
    n.destroy();
    expect(record()).toBe("destroy comm_ok=1");
    expect(() => n.allreduceSum(new CudaStorage("float32", 10, dev, {}), 10)).toThrow(/destroyed/);
  });

  test("only CUDA float storages: the rest is refused before NCCL sees it", () => {
    const n = NcclCollective.open(rankOf(0, 1), { library: so });
    const cpu = new CpuBackend();
    expect(n.supports(cpu)).toBe(false);
    expect(() => n.allreduceSum(cpu.full(4, 0, "float32"), 4)).toThrow(/not CUDA device memory/);
    expect(() => n.allreduceSum(new CudaStorage("int32", 4, 4096, {}), 4)).toThrow(/cannot reduce int32/);
    expect(() => n.allreduceSum(new CudaStorage("float32", 4, 4096, {}), 5)).toThrow(/5 elements of a storage of 4/);
  });
});
