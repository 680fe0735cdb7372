//! pgvector's `vector` arithmetic and distances.
//!
//! Two sets of kernels. The SQL functions and operators (`l2_distance`,
//! `<->`, ...) accumulate in `f32` one element after another, exactly as
//! pgvector's C loops do, so results print the same digits as pgvector.
//! The index kernels ([`Metric::distance`], [`Metric::distance_to_stored`])
//! only have to order candidates: they keep eight independent lanes
//! (explicit SIMD128 on wasm32, auto-vectorised natively) and read the
//! stored side straight from page bytes, so a search never copies a vector
//! out of a page.

use crate::error::{SqlError, SqlState};

/// pgvector's `VECTOR_MAX_DIM`: the most dimensions a `vector` may have.
pub const MAX_DIMS: usize = 16_000;

/// The most dimensions an HNSW index accepts on `vector` (pgvector's
/// `HNSW_MAX_DIM`).
pub const MAX_INDEX_DIMS: usize = 2_000;

pub fn data_exception(msg: impl Into<String>) -> SqlError {
    SqlError::new(super::text::DATA_EXCEPTION, msg)
}

/// pgvector's "different vector dimensions A and B".
pub fn check_same_dims(a: &[f32], b: &[f32]) -> Result<(), SqlError> {
    if a.len() != b.len() {
        return Err(data_exception(format!(
            "different vector dimensions {} and {}",
            a.len(),
            b.len()
        )));
    }
    Ok(())
}

/// Too many dimensions for the type (54000, as pgvector's CheckDim).
pub fn check_max_dims(n: usize) -> Result<(), SqlError> {
    check_max_dims_of(n, "vector")
}

/// [`check_max_dims`] for `vector` or `halfvec` (the same limit).
pub fn check_max_dims_of(n: usize, ty: &str) -> Result<(), SqlError> {
    if n > MAX_DIMS {
        return Err(SqlError::new(
            SqlState::PROGRAM_LIMIT_EXCEEDED,
            format!("{ty} cannot have more than {MAX_DIMS} dimensions"),
        ));
    }
    Ok(())
}

/// A computed element must stay finite (pgvector's CheckElement).
fn check_elements(v: &[f32]) -> Result<(), SqlError> {
    if v.iter().any(|f| f.is_infinite()) {
        return Err(SqlError::new(
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            "value out of range: overflow",
        ));
    }
    if v.iter().any(|f| f.is_nan()) {
        return Err(data_exception("NaN not allowed in vector"));
    }
    Ok(())
}

fn l2_squared_seq(a: &[f32], b: &[f32]) -> f32 {
    let mut d = 0.0f32;
    for (x, y) in a.iter().zip(b) {
        let diff = x - y;
        d += diff * diff;
    }
    d
}

fn dot_seq(a: &[f32], b: &[f32]) -> f32 {
    let mut d = 0.0f32;
    for (x, y) in a.iter().zip(b) {
        d += x * y;
    }
    d
}

/// `l2_distance(a, b)` / `a <-> b`.
pub fn l2_distance(a: &[f32], b: &[f32]) -> Result<f64, SqlError> {
    check_same_dims(a, b)?;
    Ok(f64::from(l2_squared_seq(a, b)).sqrt())
}

/// `inner_product(a, b)`; `a <#> b` is its negation.
pub fn inner_product(a: &[f32], b: &[f32]) -> Result<f64, SqlError> {
    check_same_dims(a, b)?;
    Ok(f64::from(dot_seq(a, b)))
}

/// `cosine_distance(a, b)` / `a <=> b`: NaN when either vector is zero.
pub fn cosine_distance(a: &[f32], b: &[f32]) -> Result<f64, SqlError> {
    check_same_dims(a, b)?;
    let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    let sim = f64::from(dot) / (f64::from(na) * f64::from(nb)).sqrt();
    if sim.is_nan() {
        return Ok(f64::NAN);
    }
    Ok(1.0 - sim.clamp(-1.0, 1.0))
}

/// `l1_distance(a, b)` / `a <+> b`.
pub fn l1_distance(a: &[f32], b: &[f32]) -> Result<f64, SqlError> {
    check_same_dims(a, b)?;
    let mut d = 0.0f32;
    for (x, y) in a.iter().zip(b) {
        d += (x - y).abs();
    }
    Ok(f64::from(d))
}

/// `vector_norm(a)`: accumulated in f64, as pgvector does.
pub fn norm(a: &[f32]) -> f64 {
    a.iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt()
}

/// `l2_normalize(a)`: a zero vector stays zero.
pub fn l2_normalize(a: &[f32]) -> Result<Vec<f32>, SqlError> {
    let n = norm(a);
    if n == 0.0 {
        return Ok(vec![0.0; a.len()]);
    }
    let r: Vec<f32> = a.iter().map(|&x| (f64::from(x) / n) as f32).collect();
    check_elements(&r)?;
    Ok(r)
}

/// `subvector(a, start, count)`: 1-based, clipped to the vector like
/// pgvector; at least one element must remain.
pub fn subvector(a: &[f32], start: i64, count: i64) -> Result<Vec<f32>, SqlError> {
    let dim = a.len() as i64;
    let end = start.saturating_add(count);
    let first = start.max(1);
    let last = end.min(dim + 1);
    if count <= 0 || last <= first {
        return Err(data_exception("vector must have at least 1 dimension"));
    }
    Ok(a[(first - 1) as usize..(last - 1) as usize].to_vec())
}

/// Elementwise `+`, `-`, `*` with pgvector's overflow and underflow errors.
pub fn elementwise(op: char, a: &[f32], b: &[f32]) -> Result<Vec<f32>, SqlError> {
    check_same_dims(a, b)?;
    let mut r = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        let v = match op {
            '+' => x + y,
            '-' => x - y,
            _ => {
                let v = x * y;
                if v == 0.0 && *x != 0.0 && *y != 0.0 {
                    return Err(SqlError::new(
                        SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
                        "value out of range: underflow",
                    ));
                }
                v
            }
        };
        r.push(v);
    }
    check_elements(&r)?;
    Ok(r)
}

/// A vector built from numbers (casts from `real[]`, `numeric[]`...):
/// finite, not NaN, at least one element, at most [`MAX_DIMS`].
pub fn from_numbers(v: Vec<f64>, dims: Option<u32>) -> Result<Vec<f32>, SqlError> {
    if v.is_empty() {
        return Err(data_exception("vector must have at least 1 dimension"));
    }
    check_max_dims(v.len())?;
    let mut out = Vec::with_capacity(v.len());
    for x in v {
        if x.is_nan() {
            return Err(data_exception("NaN not allowed in vector"));
        }
        let f = x as f32;
        if f.is_infinite() {
            return Err(data_exception("infinite value not allowed in vector"));
        }
        out.push(f);
    }
    if let Some(n) = dims {
        if out.len() != n as usize {
            return Err(data_exception(format!(
                "expected {n} dimensions, not {}",
                out.len()
            )));
        }
    }
    Ok(out)
}

/// The distance an index orders by. Each is monotonic in the SQL
/// operator's result, so ordering by it is ordering by the operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Metric {
    /// Squared Euclidean distance (`<->` is its square root).
    L2,
    /// Negative inner product (`<#>`).
    InnerProduct,
    /// Cosine distance (`<=>`); 1 - dot / (|a| |b|).
    Cosine,
    /// Taxicab distance (`<+>`).
    L1,
    /// Hamming distance of bit strings (`<~>`), over 0/1 elements.
    Hamming,
    /// Jaccard distance of bit strings (`<%>`), over 0/1 elements.
    Jaccard,
}

/// How an index stores its vectors' elements. Searches work on f32
/// elements whatever the storage (a bit is 0.0 or 1.0), so every metric
/// runs on every format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ElementFormat {
    /// `vector`: little-endian f32.
    #[default]
    F32,
    /// `halfvec`: little-endian f16.
    F16,
    /// `bit`: packed bits, most significant first.
    Bit,
}

impl ElementFormat {
    /// Bytes that `dims` elements take.
    pub fn stored_len(self, dims: usize) -> usize {
        match self {
            ElementFormat::F32 => dims * 4,
            ElementFormat::F16 => dims * 2,
            ElementFormat::Bit => dims.div_ceil(8),
        }
    }

    /// pgvector's limit on indexed dimensions: 2,000 floats, 4,000 halfs,
    /// 64,000 bits.
    pub fn max_index_dims(self) -> usize {
        match self {
            ElementFormat::F32 => MAX_INDEX_DIMS,
            ElementFormat::F16 => 2 * MAX_INDEX_DIMS,
            ElementFormat::Bit => 32 * MAX_INDEX_DIMS,
        }
    }

    /// Element `i` of `bytes` (the caller checked the length).
    #[inline(always)]
    pub fn element(self, bytes: &[u8], i: usize) -> f32 {
        match self {
            ElementFormat::F32 => elem(bytes, i),
            ElementFormat::F16 => {
                half::f16::from_le_bytes([bytes[i * 2], bytes[i * 2 + 1]]).to_f32()
            }
            ElementFormat::Bit => f32::from((bytes[i / 8] >> (7 - i % 8)) & 1),
        }
    }

    /// The stored form of `v` (f16 elements must be representable, as a
    /// `halfvec`'s are; bits are the elements > 0).
    pub fn encode(self, v: &[f32], out: &mut Vec<u8>) {
        match self {
            ElementFormat::F32 => {
                for f in v {
                    out.extend_from_slice(&f.to_le_bytes());
                }
            }
            ElementFormat::F16 => {
                for f in v {
                    out.extend_from_slice(&half::f16::from_f32(*f).to_le_bytes());
                }
            }
            ElementFormat::Bit => {
                let start = out.len();
                out.resize(start + v.len().div_ceil(8), 0);
                for (i, f) in v.iter().enumerate() {
                    if *f > 0.0 {
                        out[start + i / 8] |= 0x80 >> (i % 8);
                    }
                }
            }
        }
    }

    pub fn decode(self, bytes: &[u8], dims: usize) -> Vec<f32> {
        match self {
            ElementFormat::F32 => bytes[..dims * 4]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            _ => (0..dims).map(|i| self.element(bytes, i)).collect(),
        }
    }
}

impl Metric {
    /// pgvector's operator classes for `vector`, one per metric.
    /// pgvector's operator classes for `hnsw`: name, metric, the format
    /// of the type they index.
    pub const OPCLASSES: [(&'static str, Metric, ElementFormat); 10] = [
        ("vector_l2_ops", Metric::L2, ElementFormat::F32),
        ("vector_ip_ops", Metric::InnerProduct, ElementFormat::F32),
        ("vector_cosine_ops", Metric::Cosine, ElementFormat::F32),
        ("vector_l1_ops", Metric::L1, ElementFormat::F32),
        ("halfvec_l2_ops", Metric::L2, ElementFormat::F16),
        ("halfvec_ip_ops", Metric::InnerProduct, ElementFormat::F16),
        ("halfvec_cosine_ops", Metric::Cosine, ElementFormat::F16),
        ("halfvec_l1_ops", Metric::L1, ElementFormat::F16),
        ("bit_hamming_ops", Metric::Hamming, ElementFormat::Bit),
        ("bit_jaccard_ops", Metric::Jaccard, ElementFormat::Bit),
    ];

    pub fn opclass(self, format: ElementFormat) -> &'static str {
        Self::OPCLASSES
            .iter()
            .find(|(_, m, f)| *m == self && *f == format)
            .map(|(name, _, _)| *name)
            .unwrap_or("vector_l2_ops")
    }
}

const LANES: usize = 8;
/// Elements decoded from page bytes at a time (a multiple of [`LANES`]).
const BLOCK: usize = 64;

/// Per-lane partial sums: `[0]` the metric's sum (or the dot product for
/// cosine and Jaccard), `[1]` and `[2]` the two squared norms.
type Acc = [[f32; LANES]; 3];

#[inline]
fn lanes_sum(acc: [f32; LANES]) -> f32 {
    (acc[0] + acc[4]) + (acc[1] + acc[5]) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// Reads element `i` of a little-endian f32 array in `bytes`.
#[inline]
fn elem(bytes: &[u8], i: usize) -> f32 {
    let b = &bytes[i * 4..i * 4 + 4];
    f32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Adds `a` against `b` (same length) into `acc`: explicit 4-lane SIMD
/// on wasm32 (SIMD128; LLVM does not vectorise the wasm build's loops
/// reliably) and x86_64 (SSE2, always present there), else
/// [`accumulate_lanes`].
#[inline(always)]
fn accumulate(metric: Metric, a: &[f32], b: &[f32], acc: &mut Acc) {
    #[cfg(any(
        all(target_arch = "wasm32", target_feature = "simd128"),
        target_arch = "x86_64"
    ))]
    simd::accumulate(metric, a, b, acc);
    #[cfg(not(any(
        all(target_arch = "wasm32", target_feature = "simd128"),
        target_arch = "x86_64"
    )))]
    accumulate_lanes(metric, a, b, acc);
}

/// The 4-lane kernels, written once over a few operations each target
/// provides (`V` is four f32 lanes).
#[cfg(any(
    all(target_arch = "wasm32", target_feature = "simd128"),
    target_arch = "x86_64"
))]
mod simd {
    use super::{Acc, Metric, LANES};

    #[cfg(target_arch = "wasm32")]
    mod ops {
        use core::arch::wasm32::*;
        pub type V = v128;

        #[inline(always)]
        pub fn zero() -> V {
            f32x4_splat(0.0)
        }
        /// Four f32s from 16 bytes at `p`.
        ///
        /// # Safety
        /// `p` must point at 16 readable bytes (no alignment needed).
        #[inline(always)]
        pub unsafe fn load(p: *const u8) -> V {
            v128_load(p.cast::<v128>())
        }
        #[inline(always)]
        pub fn add(a: V, b: V) -> V {
            f32x4_add(a, b)
        }
        #[inline(always)]
        pub fn sub(a: V, b: V) -> V {
            f32x4_sub(a, b)
        }
        #[inline(always)]
        pub fn mul(a: V, b: V) -> V {
            f32x4_mul(a, b)
        }
        #[inline(always)]
        pub fn abs(a: V) -> V {
            f32x4_abs(a)
        }
        #[inline(always)]
        pub fn lanes(v: V) -> [f32; 4] {
            [
                f32x4_extract_lane::<0>(v),
                f32x4_extract_lane::<1>(v),
                f32x4_extract_lane::<2>(v),
                f32x4_extract_lane::<3>(v),
            ]
        }
    }

    #[cfg(target_arch = "x86_64")]
    mod ops {
        use core::arch::x86_64::*;
        pub type V = __m128;

        #[inline(always)]
        pub fn zero() -> V {
            // SAFETY: SSE is part of the x86_64 baseline.
            unsafe { _mm_setzero_ps() }
        }
        /// Four f32s from 16 bytes at `p`.
        ///
        /// # Safety
        /// `p` must point at 16 readable bytes (no alignment needed).
        #[inline(always)]
        pub unsafe fn load(p: *const u8) -> V {
            _mm_loadu_ps(p.cast::<f32>())
        }
        #[inline(always)]
        pub fn add(a: V, b: V) -> V {
            // SAFETY: SSE is part of the x86_64 baseline.
            unsafe { _mm_add_ps(a, b) }
        }
        #[inline(always)]
        pub fn sub(a: V, b: V) -> V {
            // SAFETY: as above.
            unsafe { _mm_sub_ps(a, b) }
        }
        #[inline(always)]
        pub fn mul(a: V, b: V) -> V {
            // SAFETY: as above.
            unsafe { _mm_mul_ps(a, b) }
        }
        #[inline(always)]
        pub fn abs(a: V) -> V {
            // SAFETY: as above; clearing the sign bit.
            unsafe { _mm_andnot_ps(_mm_set1_ps(-0.0), a) }
        }
        #[inline(always)]
        pub fn lanes(v: V) -> [f32; 4] {
            let mut out = [0.0f32; 4];
            // SAFETY: `out` has room for four f32s; no alignment needed.
            unsafe { _mm_storeu_ps(out.as_mut_ptr(), v) };
            out
        }
    }

    use ops::*;

    /// Four f32s from `x[at..at + 4]`.
    #[inline(always)]
    fn load_f32(x: &[f32], at: usize) -> V {
        let four = &x[at..at + 4];
        // SAFETY: `four` is 16 in-bounds bytes.
        unsafe { load(four.as_ptr().cast::<u8>()) }
    }

    /// Four little-endian f32s from `bytes[at * 4..at * 4 + 16]` (both
    /// targets are little-endian).
    #[inline(always)]
    fn load_le(bytes: &[u8], at: usize) -> V {
        let sixteen = &bytes[at * 4..at * 4 + 16];
        // SAFETY: `sixteen` is 16 in-bounds bytes.
        unsafe { load(sixteen.as_ptr()) }
    }

    #[inline(always)]
    fn spill(v: V, lanes_acc: &mut [f32; LANES], half: usize) {
        for (k, x) in lanes(v).into_iter().enumerate() {
            lanes_acc[half + k] += x;
        }
    }

    #[inline(always)]
    pub(super) fn accumulate(metric: Metric, a: &[f32], b: &[f32], acc: &mut Acc) {
        let n = a.len().min(b.len());
        let whole = n - n % LANES;
        run(metric, a, whole, |i| load_f32(b, i), acc);
        super::accumulate_lanes(metric, &a[whole..n], &b[whole..n], acc);
    }

    /// `a` against `a.len()` little-endian f32s at the start of `bytes`.
    #[inline(always)]
    pub(super) fn accumulate_bytes(metric: Metric, a: &[f32], bytes: &[u8], acc: &mut Acc) {
        let n = a.len().min(bytes.len() / 4);
        let whole = n - n % LANES;
        run(metric, a, whole, |i| load_le(bytes, i), acc);
        // Fewer than LANES left: decoded on the stack.
        let mut tail = [0.0f32; LANES];
        for (t, c) in tail.iter_mut().zip(bytes[whole * 4..n * 4].chunks_exact(4)) {
            *t = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        super::accumulate_lanes(metric, &a[whole..n], &tail[..n - whole], acc);
    }

    // The kernels' kinds, as const parameters, so each is compiled with
    // its arithmetic inline instead of a dispatch per step.
    const SQUARED: u8 = 0;
    const ABSOLUTE: u8 = 1;
    const PRODUCT: u8 = 2;
    const PRODUCT_NORMS: u8 = 3;

    /// One step: `x` against `y` into the sum `s`, and for
    /// [`PRODUCT_NORMS`] the two squared norms `nx`, `ny`.
    #[inline(always)]
    fn step<const K: u8>(x: V, y: V, s: &mut V, nx: &mut V, ny: &mut V) {
        match K {
            SQUARED => {
                let d = sub(x, y);
                *s = add(*s, mul(d, d));
            }
            ABSOLUTE => *s = add(*s, abs(sub(x, y))),
            PRODUCT => *s = add(*s, mul(x, y)),
            _ => {
                *s = add(*s, mul(x, y));
                *nx = add(*nx, mul(x, x));
                *ny = add(*ny, mul(y, y));
            }
        }
    }

    #[inline(always)]
    fn run(metric: Metric, a: &[f32], whole: usize, b: impl Fn(usize) -> V, acc: &mut Acc) {
        match metric {
            Metric::L2 => run_kind::<SQUARED>(a, whole, b, acc),
            Metric::L1 | Metric::Hamming => run_kind::<ABSOLUTE>(a, whole, b, acc),
            Metric::InnerProduct => run_kind::<PRODUCT>(a, whole, b, acc),
            Metric::Cosine | Metric::Jaccard => run_kind::<PRODUCT_NORMS>(a, whole, b, acc),
        }
    }

    /// The first `whole` (a multiple of [`LANES`]) elements. Four
    /// independent accumulators per sum, so consecutive adds do not wait
    /// for each other.
    #[inline(always)]
    fn run_kind<const K: u8>(a: &[f32], whole: usize, b: impl Fn(usize) -> V, acc: &mut Acc) {
        let z = zero();
        let (mut s0, mut s1, mut s2, mut s3) = (z, z, z, z);
        let (mut x0, mut x1, mut x2, mut x3) = (z, z, z, z);
        let (mut y0, mut y1, mut y2, mut y3) = (z, z, z, z);
        let mut i = 0;
        while i + 2 * LANES <= whole {
            step::<K>(load_f32(a, i), b(i), &mut s0, &mut x0, &mut y0);
            step::<K>(load_f32(a, i + 4), b(i + 4), &mut s1, &mut x1, &mut y1);
            step::<K>(load_f32(a, i + 8), b(i + 8), &mut s2, &mut x2, &mut y2);
            step::<K>(load_f32(a, i + 12), b(i + 12), &mut s3, &mut x3, &mut y3);
            i += 2 * LANES;
        }
        if i < whole {
            step::<K>(load_f32(a, i), b(i), &mut s0, &mut x0, &mut y0);
            step::<K>(load_f32(a, i + 4), b(i + 4), &mut s1, &mut x1, &mut y1);
        }
        let (s, nx, ny) = ([s0, s1, s2, s3], [x0, x1, x2, x3], [y0, y1, y2, y3]);
        for (k, sums) in [s, nx, ny].into_iter().enumerate() {
            spill(add(sums[0], sums[2]), &mut acc[k], 0);
            spill(add(sums[1], sums[3]), &mut acc[k], 4);
        }
    }
}

/// [`accumulate`] in portable code. The loops run over fixed-size chunks,
/// so they carry no bounds checks and LLVM turns each lane array into SIMD
/// registers (SSE/AVX natively) where it optimises for speed.
#[inline(always)]
fn accumulate_lanes(metric: Metric, a: &[f32], b: &[f32], acc: &mut Acc) {
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    match metric {
        Metric::L2 => {
            for (x, y) in ca.zip(cb) {
                for l in 0..LANES {
                    let d = x[l] - y[l];
                    acc[0][l] += d * d;
                }
            }
            for (x, y) in ra.iter().zip(rb) {
                acc[0][0] += (x - y) * (x - y);
            }
        }
        Metric::L1 | Metric::Hamming => {
            for (x, y) in ca.zip(cb) {
                for l in 0..LANES {
                    acc[0][l] += (x[l] - y[l]).abs();
                }
            }
            for (x, y) in ra.iter().zip(rb) {
                acc[0][0] += (x - y).abs();
            }
        }
        Metric::InnerProduct => {
            for (x, y) in ca.zip(cb) {
                for l in 0..LANES {
                    acc[0][l] += x[l] * y[l];
                }
            }
            for (x, y) in ra.iter().zip(rb) {
                acc[0][0] += x * y;
            }
        }
        Metric::Cosine | Metric::Jaccard => {
            for (x, y) in ca.zip(cb) {
                for l in 0..LANES {
                    acc[0][l] += x[l] * y[l];
                    acc[1][l] += x[l] * x[l];
                    acc[2][l] += y[l] * y[l];
                }
            }
            for (x, y) in ra.iter().zip(rb) {
                acc[0][0] += x * y;
                acc[1][0] += x * x;
                acc[2][0] += y * y;
            }
        }
    }
}

/// The distance from the accumulated sums.
#[inline(always)]
fn finish(metric: Metric, acc: &Acc) -> f32 {
    let s = lanes_sum(acc[0]);
    match metric {
        Metric::L2 | Metric::L1 | Metric::Hamming => s,
        Metric::InnerProduct => -s,
        Metric::Cosine => {
            let denom = (lanes_sum(acc[1]) * lanes_sum(acc[2])).sqrt();
            if denom == 0.0 {
                // A zero vector has no direction: sort it last.
                return f32::MAX;
            }
            1.0 - (s / denom).clamp(-1.0, 1.0)
        }
        Metric::Jaccard => {
            // Over 0/1 elements: |a ∧ b| = a·b, |a ∨ b| = |a|² + |b|² - a·b.
            let union = lanes_sum(acc[1]) + lanes_sum(acc[2]) - s;
            if union == 0.0 {
                return 0.0;
            }
            1.0 - s / union
        }
    }
}

impl Metric {
    /// Distance between two vectors of the same length.
    pub fn distance(self, a: &[f32], b: &[f32]) -> f32 {
        debug_assert_eq!(a.len(), b.len());
        let n = a.len().min(b.len());
        let mut acc = [[0.0; LANES]; 3];
        accumulate(self, &a[..n], &b[..n], &mut acc);
        finish(self, &acc)
    }

    /// Distance between `a` and a stored vector of `a.len()` elements in
    /// `format` at the start of `bytes` (the caller checked its length).
    /// The stored side is decoded [`BLOCK`] elements at a time into a
    /// stack buffer, so nothing is allocated.
    pub fn distance_to_stored(self, format: ElementFormat, a: &[f32], bytes: &[u8]) -> f32 {
        let mut acc = [[0.0; LANES]; 3];
        #[cfg(any(
            all(target_arch = "wasm32", target_feature = "simd128"),
            target_arch = "x86_64"
        ))]
        if format == ElementFormat::F32 {
            simd::accumulate_bytes(self, a, &bytes[..a.len() * 4], &mut acc);
            return finish(self, &acc);
        }
        let mut buf = [0.0f32; BLOCK];
        for (k, chunk) in a.chunks(BLOCK).enumerate() {
            let base = k * BLOCK;
            let out = &mut buf[..chunk.len()];
            match format {
                ElementFormat::F32 => {
                    let src = &bytes[base * 4..(base + chunk.len()) * 4];
                    for (o, b) in out.iter_mut().zip(src.chunks_exact(4)) {
                        *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    }
                }
                _ => {
                    for (i, o) in out.iter_mut().enumerate() {
                        *o = format.element(bytes, base + i);
                    }
                }
            }
            accumulate(self, chunk, out, &mut acc);
        }
        finish(self, &acc)
    }

    /// The SQL operator this metric orders by.
    pub fn operator(self) -> &'static str {
        match self {
            Metric::L2 => "<->",
            Metric::InnerProduct => "<#>",
            Metric::Cosine => "<=>",
            Metric::L1 => "<+>",
            Metric::Hamming => "<~>",
            Metric::Jaccard => "<%>",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_distances_match_pgvector() {
        // pgvector test/sql/vector.sql.
        assert_eq!(l2_distance(&[0.0, 0.0], &[3.0, 4.0]).unwrap(), 5.0);
        assert_eq!(inner_product(&[1.0, 2.0], &[3.0, 4.0]).unwrap(), 11.0);
        assert_eq!(cosine_distance(&[1.0, 2.0], &[2.0, 4.0]).unwrap(), 0.0);
        assert_eq!(cosine_distance(&[1.0, 1.0], &[-1.0, -1.0]).unwrap(), 2.0);
        assert!(cosine_distance(&[0.0, 0.0], &[2.0, 4.0]).unwrap().is_nan());
        assert_eq!(l1_distance(&[0.0, 0.0], &[3.0, 4.0]).unwrap(), 7.0);
        let e = l2_distance(&[1.0, 2.0], &[3.0]).unwrap_err();
        assert_eq!(e.message, "different vector dimensions 2 and 1");
        assert_eq!(norm(&[3.0, 4.0]), 5.0);
        assert_eq!(l2_normalize(&[3.0, 4.0]).unwrap(), vec![0.6, 0.8]);
        assert_eq!(l2_normalize(&[0.0, 0.0]).unwrap(), vec![0.0, 0.0]);
    }

    #[test]
    fn subvector_clips_like_pgvector() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(subvector(&v, 1, 3).unwrap(), vec![1.0, 2.0, 3.0]);
        assert_eq!(subvector(&v, 3, 2).unwrap(), vec![3.0, 4.0]);
        assert_eq!(subvector(&v, -1, 3).unwrap(), vec![1.0]);
        assert_eq!(subvector(&v, 3, 9).unwrap(), vec![3.0, 4.0, 5.0]);
        assert!(subvector(&v, 3, 0).is_err());
        assert!(subvector(&v, 6, 1).is_err());
        assert!(subvector(&v, i64::MAX, 5).is_err());
    }

    #[test]
    fn elementwise_errors() {
        assert_eq!(elementwise('+', &[1.0], &[2.0]).unwrap(), vec![3.0]);
        assert_eq!(
            elementwise('*', &[1e38], &[1e38]).unwrap_err().message,
            "value out of range: overflow"
        );
        assert_eq!(
            elementwise('*', &[1e-30], &[1e-30]).unwrap_err().message,
            "value out of range: underflow"
        );
    }

    #[test]
    fn index_kernels_agree_with_sql_functions() {
        let mut seed = 7u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % 2000) as f32 / 1000.0 - 1.0
        };
        for n in [1, 7, 8, 9, 31, 384] {
            let a: Vec<f32> = (0..n).map(|_| next()).collect();
            let b: Vec<f32> = (0..n).map(|_| next()).collect();
            let bytes: Vec<u8> = b.iter().flat_map(|f| f.to_le_bytes()).collect();
            let close = |x: f32, y: f64| ((x as f64) - y).abs() < 1e-3 * (1.0 + y.abs());
            let l2 = l2_distance(&a, &b).unwrap();
            assert!(close(Metric::L2.distance(&a, &b), l2 * l2));
            assert!(close(
                Metric::L2.distance_to_stored(ElementFormat::F32, &a, &bytes),
                l2 * l2
            ));
            let ip = inner_product(&a, &b).unwrap();
            assert!(close(
                Metric::InnerProduct.distance_to_stored(ElementFormat::F32, &a, &bytes),
                -ip
            ));
            let cos = cosine_distance(&a, &b).unwrap();
            assert!(close(
                Metric::Cosine.distance_to_stored(ElementFormat::F32, &a, &bytes),
                cos
            ));
            let l1 = l1_distance(&a, &b).unwrap();
            assert!(close(Metric::L1.distance(&a, &b), l1));
        }
    }
}
