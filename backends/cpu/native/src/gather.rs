//! Row gather (embedding, index_select) and its backward, a row scatter-add, for float32 rows.

/// Calls f(i, k) for i < n, k being entry i of the int32 index at idx (stride is; negative counts
/// from the end) as a row of `rows`; stops with an error at the first entry out of range.
unsafe fn each_row(idx: *const i32, is: isize, n: usize, rows: usize, mut f: impl FnMut(usize, usize)) -> Result<(), String> {
    for i in 0..n {
        let raw = *idx.offset(i as isize * is) as i64;
        let k = if raw < 0 { raw + rows as i64 } else { raw };
        if k < 0 || k >= rows as i64 {
            return Err(format!("index {raw} is out of range for {rows} rows"));
        }
        f(i, k as usize);
    }
    Ok(())
}

/// out[i, :] = x[idx[i], :] for x a [R, C] view (rs, cs), idx int32 (negative counts from the end).
#[allow(clippy::too_many_arguments)]
pub unsafe fn gather_rows(
    x: *const f32,
    r: usize,
    c: usize,
    rs: isize,
    cs: isize,
    idx: *const i32,
    is: isize,
    n: usize,
    out: *mut f32,
) -> Result<(), String> {
    each_row(idx, is, n, r, |i, k| {
        let src = x.offset(k as isize * rs);
        let dst = out.add(i * c);
        if cs == 1 {
            std::ptr::copy_nonoverlapping(src, dst, c);
        } else {
            for j in 0..c {
                *dst.add(j) = *src.offset(j as isize * cs);
            }
        }
    })
}

/// out [rows, C] (zeroed by the caller) += src rows [n, C] at rows idx.
#[allow(clippy::too_many_arguments)]
pub unsafe fn scatter_add_rows(
    src: *const f32,
    c: usize,
    rs: isize,
    cs: isize,
    idx: *const i32,
    is: isize,
    n: usize,
    rows: usize,
    out: *mut f32,
) -> Result<(), String> {
    each_row(idx, is, n, rows, |i, k| {
        let s = src.offset(i as isize * rs);
        let d = out.add(k * c);
        for j in 0..c {
            *d.add(j) += *s.offset(j as isize * cs);
        }
    })
}
