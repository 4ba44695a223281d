// HDF5 files imported `with { type: "file" }`: Bun gives the path of the (embedded) file.
declare module "*.h5" {
  const path: string;
  export default path;
}
