//! Strided views as the TS side describes them in `meta`, bounds checks, and dimension collapsing.

pub const MAX_DIMS: usize = 8;

/// A strided view: element [i0, …] at off + Σ ik·strides[k].
#[derive(Clone, Copy, Debug)]
pub struct View {
    pub nd: usize,
    pub shape: [usize; MAX_DIMS],
    pub strides: [isize; MAX_DIMS],
    pub off: isize,
}

impl View {
    pub fn numel(&self) -> usize {
        self.shape[..self.nd].iter().product()
    }
}

/// Checks that every element of the view (shape, strides, off) lies inside [0, len).
pub fn check_bounds(what: &str, shape: &[usize], strides: &[isize], off: isize, len: usize) -> Result<(), String> {
    if shape.iter().any(|&d| d == 0) {
        return Ok(());
    }
    let mut lo = off;
    let mut hi = off;
    for (&d, &s) in shape.iter().zip(strides) {
        let span = (d as isize - 1) * s;
        if span < 0 {
            lo += span;
        } else {
            hi += span;
        }
    }
    if lo < 0 || hi >= len as isize {
        return Err(format!("{what}: view reaches [{lo}, {hi}] outside its storage of {len} elements"));
    }
    Ok(())
}

/// A group of views over one logical shape (the output first, when there is one), with the
/// dimensions merged where every view allows it and size-1 dimensions dropped.
pub struct Iter<const N: usize> {
    pub nd: usize,
    pub shape: [usize; MAX_DIMS],
    /// strides[v][d]
    pub strides: [[isize; MAX_DIMS]; N],
    pub offs: [isize; N],
}

impl<const N: usize> Iter<N> {
    pub fn new(shape: &[usize], strides: [&[isize]; N], offs: [isize; N]) -> Iter<N> {
        let mut it = Iter { nd: 0, shape: [1; MAX_DIMS], strides: [[0; MAX_DIMS]; N], offs };
        for d in 0..shape.len() {
            if shape[d] == 1 {
                continue;
            }
            if it.nd > 0 {
                let last = it.nd - 1;
                // Merge d into the previous kept dim when stride[prev] == stride[d]·shape[d] for all.
                let ok = (0..N).all(|v| it.strides[v][last] == strides[v][d] * shape[d] as isize);
                if ok {
                    it.shape[last] *= shape[d];
                    for v in 0..N {
                        it.strides[v][last] = strides[v][d];
                    }
                    continue;
                }
            }
            let k = it.nd;
            it.shape[k] = shape[d];
            for v in 0..N {
                it.strides[v][k] = strides[v][d];
            }
            it.nd += 1;
        }
        if it.nd == 0 {
            it.nd = 1;
            it.shape[0] = 1;
            for v in 0..N {
                it.strides[v][0] = 1;
            }
        }
        it
    }

    /// Number of innermost rows and their length.
    pub fn rows(&self) -> (usize, usize) {
        let nd = self.nd;
        (self.shape[..nd - 1].iter().product(), self.shape[nd - 1])
    }

    /// Offsets of the start of row r (r < rows()).
    #[inline]
    pub fn row_offsets(&self, r: usize) -> [isize; N] {
        self.row_position(r).1
    }

    /// Row r as an odometer over the outer dims (their indices) and the offsets of its start.
    #[inline]
    fn row_position(&self, mut r: usize) -> ([usize; MAX_DIMS], [isize; N]) {
        let mut idx = [0usize; MAX_DIMS];
        let mut base = self.offs;
        let mut d = self.nd as isize - 2;
        while d >= 0 {
            let du = d as usize;
            idx[du] = r % self.shape[du];
            r /= self.shape[du];
            for v in 0..N {
                base[v] += idx[du] as isize * self.strides[v][du];
            }
            d -= 1;
        }
        (idx, base)
    }

    /// Moves the odometer (idx, base) of row_position to the next row.
    #[inline]
    fn next_row(&self, idx: &mut [usize; MAX_DIMS], base: &mut [isize; N]) {
        let mut d = self.nd as isize - 2;
        while d >= 0 {
            let du = d as usize;
            idx[du] += 1;
            for v in 0..N {
                base[v] += self.strides[v][du];
            }
            if idx[du] < self.shape[du] {
                break;
            }
            for v in 0..N {
                base[v] -= self.strides[v][du] * self.shape[du] as isize;
            }
            idx[du] = 0;
            d -= 1;
        }
    }
}

/// Reads a view from meta at position p: [nd, shape…, strides…, off]; returns it and the next p.
pub fn read_view(meta: &[f64], p: usize) -> Result<(View, usize), String> {
    let nd = *meta.get(p).ok_or("meta too short")? as usize;
    if nd > MAX_DIMS {
        return Err(format!("views of more than {MAX_DIMS} dims are not supported (got {nd})"));
    }
    if meta.len() < p + 2 + 2 * nd {
        return Err("meta too short".into());
    }
    let mut v = View { nd, shape: [1; MAX_DIMS], strides: [0; MAX_DIMS], off: 0 };
    for d in 0..nd {
        v.shape[d] = meta[p + 1 + d] as usize;
        v.strides[d] = meta[p + 1 + nd + d] as isize;
    }
    v.off = meta[p + 1 + 2 * nd] as isize;
    Ok((v, p + 2 + 2 * nd))
}

impl<const N: usize> Iter<N> {
    /// Total number of elements.
    pub fn len(&self) -> usize {
        self.shape[..self.nd].iter().product()
    }

    /// Calls f(offsets, length, inner strides) for the runs of consecutive elements (in logical
    /// row-major order) that make up elements [lo, hi): whole rows, and partial rows at the ends.
    #[inline]
    pub fn for_range(&self, lo: usize, hi: usize, mut f: impl FnMut([isize; N], usize, [isize; N])) {
        if lo >= hi {
            return;
        }
        let nd = self.nd;
        let inner = self.shape[nd - 1];
        let mut istr = [0isize; N];
        for v in 0..N {
            istr[v] = self.strides[v][nd - 1];
        }
        let mut c = lo % inner;
        let (mut idx, mut base) = self.row_position(lo / inner);
        let mut pos = lo;
        while pos < hi {
            let len = (inner - c).min(hi - pos);
            let mut o = base;
            for v in 0..N {
                o[v] += c as isize * istr[v];
            }
            f(o, len, istr);
            pos += len;
            c = 0;
            self.next_row(&mut idx, &mut base);
        }
    }
}

/// Contiguous row-major strides of a shape.
pub fn dense_strides(shape: &[usize]) -> [isize; MAX_DIMS] {
    let mut s = [0isize; MAX_DIMS];
    let mut acc = 1isize;
    for d in (0..shape.len()).rev() {
        s[d] = acc;
        acc *= shape[d] as isize;
    }
    s
}
