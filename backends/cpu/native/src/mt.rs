//! MT19937 bernoulli draws for dropout masks, bit-identical to core/random (TorchGenerator's
//! default bernoulli_ kernel: one uniform double per element from two 32-bit words,
//! u = ((hi & 0x1fffff)·2³² + lo)·2⁻⁵³, kept iff u < p). Works in place on the generator's
//! 624-word state (a Uint32Array) and returns the new position, so the TS generator stays the
//! owner of the stream.

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UMASK: u32 = 0x8000_0000;
const LMASK: u32 = 0x7fff_ffff;

fn twist(mt: &mut [u32]) {
    let mag = |y: u32| if y & 1 != 0 { MATRIX_A } else { 0 };
    for kk in 0..N - M {
        let y = (mt[kk] & UMASK) | (mt[kk + 1] & LMASK);
        mt[kk] = mt[kk + M] ^ (y >> 1) ^ mag(y);
    }
    for kk in N - M..N - 1 {
        let y = (mt[kk] & UMASK) | (mt[kk + 1] & LMASK);
        mt[kk] = mt[kk + M - N] ^ (y >> 1) ^ mag(y);
    }
    let y = (mt[N - 1] & UMASK) | (mt[0] & LMASK);
    mt[N - 1] = mt[M - 1] ^ (y >> 1) ^ mag(y);
}

#[inline(always)]
fn temper(mut y: u32) -> u32 {
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c_5680;
    y ^= (y << 15) & 0xefc6_0000;
    y ^= y >> 18;
    y
}

/// out[i] = (u_i < p) ? on : 0 for n draws; returns the new position.
pub fn bernoulli(mt: &mut [u32], pos: usize, p: f64, on: f32, out: &mut [f32]) -> usize {
    const TWO_POW_32: f64 = 4_294_967_296.0;
    const TWO_POW_M53: f64 = 1.0 / 9_007_199_254_740_992.0;
    // Tempered words of the current block, produced 624 at a time (vectorisable loops).
    let mut words = [0u32; N];
    let mut pos = pos;
    let temper_from = |mt: &[u32], words: &mut [u32; N], from: usize| {
        for k in from..N {
            words[k] = temper(mt[k]);
        }
    };
    temper_from(mt, &mut words, pos.min(N));
    let mut i = 0;
    let n = out.len();
    let mut pending_hi: Option<u32> = None;
    while i < n {
        if pos >= N {
            twist(mt);
            pos = 0;
            temper_from(mt, &mut words, 0);
        }
        if let Some(hi) = pending_hi.take() {
            let lo = words[pos];
            pos += 1;
            let u = ((hi & 0x1f_ffff) as f64 * TWO_POW_32 + lo as f64) * TWO_POW_M53;
            out[i] = if u < p { on } else { 0.0 };
            i += 1;
            continue;
        }
        // Whole pairs available in this block.
        let pairs = ((N - pos) / 2).min(n - i);
        let w = &words[pos..pos + 2 * pairs];
        let o = &mut out[i..i + pairs];
        for (k, v) in o.iter_mut().enumerate() {
            let hi = w[2 * k];
            let lo = w[2 * k + 1];
            let u = ((hi & 0x1f_ffff) as f64 * TWO_POW_32 + lo as f64) * TWO_POW_M53;
            *v = if u < p { on } else { 0.0 };
        }
        pos += 2 * pairs;
        i += pairs;
        if i < n && pos == N - 1 {
            // A pair straddles two blocks.
            pending_hi = Some(words[pos]);
            pos += 1;
        }
    }
    pos
}
