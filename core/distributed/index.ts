/** Data-parallel training's pieces: the collective interface, launch detection, gradient averaging. */
export {
  SingleProcess, allreduceNumbers, broadcastBytes, broadcastJson, bytesOf,
  type Collective, type DeviceCollective, type PendingReduction, type ReduceBuffer,
} from "./collective.ts";
export {
  activeCollective, detectLaunch, openCollective, registerCollectiveProvider, resetCollective,
  type CollectiveProvider, type Launch, type Launcher,
} from "./launch.ts";
export {
  DEFAULT_BUCKET_BYTES, DEFAULT_FIRST_BUCKET_BYTES, GradientAllReducer,
  type AllReduceTiming, type Bucket, type GradientAllReducerOptions,
} from "./gradient_all_reducer.ts";
export { broadcastTensors } from "./broadcast_tensors.ts";
