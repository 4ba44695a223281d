// Files imported `with { type: "file" }` (png.ts): Bun gives their path, inside the executable
// in a `bun build --compile` binary.
declare module "*.wasm" {
  const path: string;
  export default path;
}
declare module "*.ttf" {
  const path: string;
  export default path;
}
