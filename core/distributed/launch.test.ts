import { afterEach, describe, expect, test } from "bun:test";
import { allreduceNumbers, broadcastJson, SingleProcess, type Collective } from "./collective.ts";
import { detectLaunch, openCollective, registerCollectiveProvider, resetCollective } from "./launch.ts";

describe("detectLaunch", () => {
  test("a plain run is no launch", () => {
    expect(detectLaunch({})).toBeNull();
  });
  test("Open MPI's mpirun", () => {
    expect(detectLaunch({ OMPI_COMM_WORLD_RANK: "1", OMPI_COMM_WORLD_SIZE: "4" })).toEqual({ launcher: "Open MPI", rank: 1, size: 4 });
  });
  test("PMI (MPICH's Hydra, Intel MPI)", () => {
    expect(detectLaunch({ PMI_RANK: "0", PMI_SIZE: "2" })).toEqual({ launcher: "PMI", rank: 0, size: 2 });
  });
  test("--distributed without a launcher's variables", () => {
    expect(detectLaunch({}, true)).toEqual({ launcher: "--distributed" });
  });
  test("a garbled variable is an error naming it", () => {
    expect(() => detectLaunch({ OMPI_COMM_WORLD_SIZE: "two" })).toThrow(/OMPI_COMM_WORLD_SIZE=two/);
  });
});

describe("openCollective", () => {
  afterEach(() => resetCollective());

  test("a plain run gets the single-process collective and never asks the provider", () => {
    let asked = 0;
    registerCollectiveProvider({ name: "test", open: () => { asked++; return new SingleProcess(); } });
    const c = openCollective({ env: {} });
    expect(c).toBeInstanceOf(SingleProcess);
    expect(asked).toBe(0);
    expect(allreduceNumbers(c, [1.5, 2])).toEqual([1.5, 2]);
    expect(broadcastJson(c, { a: 1 })).toEqual({ a: 1 });
  });

  test("a launch opens the registered engine once", () => {
    const seen: unknown[] = [];
    const fake = { rank: 1, size: 2 } as Collective;
    registerCollectiveProvider({ name: "test", open: (l) => { seen.push(l); return fake; } });
    expect(openCollective({ env: { PMI_RANK: "1", PMI_SIZE: "2" } })).toBe(fake);
    expect(openCollective({ env: { PMI_RANK: "1", PMI_SIZE: "2" } })).toBe(fake);
    expect(seen).toEqual([{ launcher: "PMI", rank: 1, size: 2 }]);
  });
});
