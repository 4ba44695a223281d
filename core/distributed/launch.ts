/**
 * Is this process one rank of a parallel launch, and which engine runs it?
 *
 * `mpirun -np N xt …` is recognised from the launcher's environment: Open MPI's
 * OMPI_COMM_WORLD_RANK/SIZE, or PMI_RANK/PMI_SIZE (MPICH's Hydra, Intel MPI, MVAPICH, srun with
 * PMI2). `--distributed` forces it for launchers that set neither. A plain `xt train …` is not a
 * launch and never touches MPI.
 *
 * The engine binding (backends/mpi) registers itself here; openCollective() asks it for a
 * Collective only when a launch was detected, so nothing native loads otherwise.
 */
import { XtError } from "../errors.ts";
import { SingleProcess, type Collective } from "./collective.ts";

export type Launcher = "Open MPI" | "PMI" | "--distributed";

export interface Launch {
  launcher: Launcher;
  /** The rank and size the launcher announced (absent for --distributed). */
  rank?: number;
  size?: number;
}

type Env = Record<string, string | undefined>;

function whole(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 0) throw new XtError(`${name}=${raw}: expected a whole number (set by the MPI launcher)`);
  return v;
}

/** The launch this process belongs to, or null for a plain single-process run. */
export function detectLaunch(env: Env = process.env, distributedFlag = false): Launch | null {
  const ompiSize = whole(env, "OMPI_COMM_WORLD_SIZE");
  if (ompiSize !== undefined) return { launcher: "Open MPI", rank: whole(env, "OMPI_COMM_WORLD_RANK"), size: ompiSize };
  const pmiSize = whole(env, "PMI_SIZE");
  if (pmiSize !== undefined) return { launcher: "PMI", rank: whole(env, "PMI_RANK"), size: pmiSize };
  return distributedFlag ? { launcher: "--distributed" } : null;
}

/** Opens the engine for a launch (backends/mpi registers one). */
export interface CollectiveProvider {
  readonly name: string;
  open(launch: Launch): Collective;
}

let provider: CollectiveProvider | null = null;
let active: Collective | null = null;

export function registerCollectiveProvider(p: CollectiveProvider): void {
  provider = p;
}

/**
 * The collective for this process: a SingleProcess when no launch is detected, else the
 * registered engine's (opened once; later calls return the same one).
 */
export function openCollective(opts: { distributed?: boolean; env?: Env } = {}): Collective {
  if (active) return active;
  const launch = detectLaunch(opts.env ?? process.env, opts.distributed ?? false);
  if (!launch) return (active = new SingleProcess());
  if (!provider) throw new XtError(`started as one rank of a parallel run (${launch.launcher}) but this build of xt has no MPI binding`);
  active = provider.open(launch);
  return active;
}

/** The collective opened by openCollective, if any (the CLI finalizes or aborts it at exit). */
export function activeCollective(): Collective | null {
  return active;
}

/** Forget the active collective (tests that open several in one process). */
export function resetCollective(): void {
  active = null;
}
