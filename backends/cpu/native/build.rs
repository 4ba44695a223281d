//! Link flags for a Node-API addon whose `napi_*` functions come from the host process (Bun,
//! Node, a compiled xt; see backends/napi): GNU ld accepts the undefined symbols in a shared
//! object, Apple's linker needs `-undefined dynamic_lookup` (what napi-rs's napi-build passes).
//! (Windows would need them bound from the host executable at load time: not done, see README.)

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("macos") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-undefined,dynamic_lookup");
    }
}
