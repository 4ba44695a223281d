//! Instruction-set choice, made once at run time: AVX-512 (F) + FMA, AVX2 + FMA, or scalar.
//! XT_ISA=avx512|avx2|scalar forces a lower level (for tests; a level the CPU lacks is ignored).

use std::sync::OnceLock;

#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
pub enum Isa {
    Scalar = 0,
    Avx2 = 1,
    Avx512 = 2,
}

static ISA: OnceLock<Isa> = OnceLock::new();

fn detect() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        let hw = if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("fma")
        {
            Isa::Avx512
        } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            Isa::Avx2
        } else {
            Isa::Scalar
        };
        let want = match std::env::var("XT_ISA").ok().as_deref().map(str::trim) {
            Some("scalar") => Isa::Scalar,
            Some("avx2") => Isa::Avx2,
            _ => Isa::Avx512,
        };
        return hw.min(want);
    }
    #[allow(unreachable_code)]
    Isa::Scalar
}

#[inline]
pub fn isa() -> Isa {
    *ISA.get_or_init(detect)
}

pub fn name() -> &'static str {
    match isa() {
        Isa::Avx512 => "avx512",
        Isa::Avx2 => "avx2",
        Isa::Scalar => "scalar",
    }
}
