/**
 * The MPI engine for core/distributed: `registerMpi()` makes openCollective() use MPI when xt is
 * one rank of `mpirun -np N xt …` (or runs with --distributed). Importing this file loads nothing;
 * the library is opened only when a launch asks for it.
 */
import { registerCollectiveProvider, type Launch } from "../../core/distributed/launch.ts";
import { XtError } from "../../core/errors.ts";
import { MpiCollective } from "./mpi_collective.ts";
import { candidateLibraries, initMpi, loadMpiLibrary } from "./mpi_library.ts";

export { MpiCollective } from "./mpi_collective.ts";
export { candidateLibraries, loadMpiLibrary, MPICH_HANDLES, INSTALL_HINT, type MpiAbi, type MpiLibrary } from "./mpi_library.ts";

/** Opens MPI for a detected launch and checks that the library sees the ranks the launcher started. */
export function openMpi(launch: Launch, env: Record<string, string | undefined> = process.env): MpiCollective {
  const lib = loadMpiLibrary(candidateLibraries(launch.launcher, env));
  const { rank, size } = initMpi(lib);
  if (launch.size !== undefined && (size !== launch.size || rank !== launch.rank)) {
    const vars = launch.launcher === "Open MPI" ? "OMPI_COMM_WORLD_RANK/SIZE" : "PMI_RANK/PMI_SIZE";
    throw new XtError(
      `the MPI library ${lib.path} (${lib.abi}) sees rank ${rank} of ${size}, but the launcher started rank ${launch.rank} of ${launch.size} (${vars}): ` +
        `it is not the MPI that runs mpirun here; set XT_MPI_LIBRARY to the library of the launcher's MPI`,
    );
  }
  const c = new MpiCollective(lib, rank, size);
  // An exit without MPI_Finalize makes mpirun report the rank as failed.
  process.on("exit", () => c.finalize());
  return c;
}

let registered = false;

export function registerMpi(): void {
  if (registered) return;
  registered = true;
  registerCollectiveProvider({ name: "MPI", open: (launch) => openMpi(launch) });
}
