// Gzipped IDX files imported `with { type: "file" }` (core/train/vit_data.ts): Bun gives the path
// of the file, inside the executable in a `bun build --compile` binary.
declare module "*.gz" {
  const path: string;
  export default path;
}
