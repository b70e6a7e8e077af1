//! A 4×8 f32 matrix-multiply kernel for wasm SIMD128, registered with tract ahead of its own.
//!
//! Why our own: tract's wasm GEMM kernel is 8×8, sixteen `v128` accumulators, tuned on Apple
//! ARM (32 vector registers). V8 on x86-64 has 16 `xmm` registers, so with the B columns and the
//! broadcast A value the 8×8 tile spills on every step of k. This tile keeps 8 accumulators and
//! broadcasts A straight from memory (`v128.load32_splat`, one load-port instruction on x86
//! instead of a shuffle). Measured in Chromium 156 on this project's 2-core Xeon, a GEMM of the
//! size of FaceNet's convolutions runs at 17.4–17.8 GMAC/s with it against 10.5–12.9 with
//! tract's 8×8, and 20.8–21.4 against 17.7–18.3 with relaxed SIMD (fused multiply-add): three
//! runs of `node benches/kernels.mjs`. Per face in Chromium: 176 → 129 ms (SIMD128) and 109 ms
//! (relaxed SIMD), under the profiler.
//!
//! tract asks its dispatch tiers which kernel to run; ours has a higher precedence than tract's
//! wasm tier and answers for f32 matrix products with more than one column. Matrix-vector
//! products (n = 1) stay with tract's GEMV kernels.
#![allow(unsafe_code)]

use std::arch::wasm32::*;
use tract_onnx::prelude::DatumType;
use tract_onnx::tract_core::tract_linalg::isa::{Arch, IsaSet};
use tract_onnx::tract_core::tract_linalg::mmm::{DynKernel, FusedKerSpec, MatMatMul, Query, Suitable};
use tract_onnx::tract_core::tract_linalg::mmm_routines::MmmRoutine;
use tract_onnx::tract_core::tract_linalg::mmm_tiers::MmmTier;
use tract_onnx::tract_core::tract_linalg::pack::Packing;
use tract_onnx::tract_core::tract_linalg::Scaler;

/// The name tract reports for this kernel (in profiles and `MatMatMul::name`).
pub const KERNEL_NAME: &str = "facenet_wasm_f32_4x8";

const MR: usize = 4;
const NR: usize = 8;

/// `acc + a * b`, fused when the build has relaxed SIMD. `AddMatMul` and `AddRowColProducts`
/// both go through it so that the two agree on rounding.
#[inline(always)]
fn madd(acc: v128, a: v128, b: v128) -> v128 {
    #[cfg(target_feature = "relaxed-simd")]
    {
        f32x4_relaxed_madd(a, b, acc)
    }
    #[cfg(not(target_feature = "relaxed-simd"))]
    {
        f32x4_add(acc, f32x4_mul(a, b))
    }
}

/// Accumulators: row `r` holds columns 0–3 in `acc[2r]` and 4–7 in `acc[2r + 1]`. The array is
/// indexed only by constants once the loops unroll, so LLVM keeps it in registers.
type Tile = [v128; MR * 2];

#[inline(always)]
fn each(acc: &mut Tile, f: impl Fn(v128) -> v128) {
    for v in acc.iter_mut() {
        *v = f(*v);
    }
}

/// `acc[r] = op(row[r], acc[r])` with the row value broadcast, or flipped.
#[inline(always)]
unsafe fn per_row(acc: &mut Tile, row: *const f32, op: fn(v128, v128) -> v128, flip: bool) {
    for r in 0..MR {
        let s = f32x4_splat(unsafe { *row.add(r) });
        for h in 0..2 {
            let v = &mut acc[2 * r + h];
            *v = if flip { op(*v, s) } else { op(s, *v) };
        }
    }
}

/// `acc[.., c] = op(col[c], acc[.., c])`, or flipped.
#[inline(always)]
unsafe fn per_col(acc: &mut Tile, col: *const f32, op: fn(v128, v128) -> v128, flip: bool) {
    let c = unsafe { [v128_load(col as *const v128), v128_load((col as *const v128).add(1))] };
    for r in 0..MR {
        for h in 0..2 {
            let v = &mut acc[2 * r + h];
            *v = if flip { op(*v, c[h]) } else { op(c[h], *v) };
        }
    }
}

/// Runs one fused micro-program on a 4×8 tile. The contract is tract's: walk `FusedKerSpec`
/// until `Done`, return 0.
unsafe fn kernel_f32_4x8(spec: &[FusedKerSpec<f32>]) -> isize {
    let zero = f32x4_splat(0.0);
    let mut acc: Tile = [zero; MR * 2];
    for op in spec {
        // SAFETY (whole match): tract hands the kernel pointers to buffers sized for one MR×NR
        // tile (per-row/per-column operands, tiles with their strides, packed panels of k steps).
        unsafe {
            match *op {
                FusedKerSpec::Done => break,
                FusedKerSpec::Clear => acc = [zero; MR * 2],
                FusedKerSpec::LoadTile(_col_major, row_major) => {
                    let p = row_major as *const v128;
                    for (i, v) in acc.iter_mut().enumerate() {
                        *v = v128_load(p.add(i));
                    }
                }
                FusedKerSpec::ScalarMin(a) => each(&mut acc, |v| f32x4_min(f32x4_splat(a), v)),
                FusedKerSpec::ScalarMax(a) => each(&mut acc, |v| f32x4_max(f32x4_splat(a), v)),
                FusedKerSpec::ScalarAdd(a) => each(&mut acc, |v| f32x4_add(f32x4_splat(a), v)),
                FusedKerSpec::ScalarMul(a) => each(&mut acc, |v| f32x4_mul(f32x4_splat(a), v)),
                FusedKerSpec::ScalarSub(a) => each(&mut acc, |v| f32x4_sub(f32x4_splat(a), v)),
                FusedKerSpec::ScalarSubF(a) => each(&mut acc, |v| f32x4_sub(v, f32x4_splat(a))),
                FusedKerSpec::LeakyRelu(a) => {
                    each(&mut acc, |v| v128_bitselect(v, f32x4_mul(f32x4_splat(a), v), f32x4_gt(v, zero)))
                }
                FusedKerSpec::PerRowMin(row) => per_row(&mut acc, row, |a, b| f32x4_min(a, b), false),
                FusedKerSpec::PerRowMax(row) => per_row(&mut acc, row, |a, b| f32x4_max(a, b), false),
                FusedKerSpec::PerRowAdd(row) => per_row(&mut acc, row, |a, b| f32x4_add(a, b), false),
                FusedKerSpec::PerRowMul(row) => per_row(&mut acc, row, |a, b| f32x4_mul(a, b), false),
                FusedKerSpec::PerRowSub(row) => per_row(&mut acc, row, |a, b| f32x4_sub(a, b), false),
                FusedKerSpec::PerRowSubF(row) => per_row(&mut acc, row, |a, b| f32x4_sub(a, b), true),
                FusedKerSpec::PerColMin(col) => per_col(&mut acc, col, |a, b| f32x4_min(a, b), false),
                FusedKerSpec::PerColMax(col) => per_col(&mut acc, col, |a, b| f32x4_max(a, b), false),
                FusedKerSpec::PerColAdd(col) => per_col(&mut acc, col, |a, b| f32x4_add(a, b), false),
                FusedKerSpec::PerColMul(col) => per_col(&mut acc, col, |a, b| f32x4_mul(a, b), false),
                FusedKerSpec::PerColSub(col) => per_col(&mut acc, col, |a, b| f32x4_sub(a, b), false),
                FusedKerSpec::PerColSubF(col) => per_col(&mut acc, col, |a, b| f32x4_sub(a, b), true),
                FusedKerSpec::QScale(shift, policy, mult) => {
                    let s = Scaler::from_fuse_params(shift, policy, mult).scale;
                    each(&mut acc, |v| f32x4_mul(f32x4_splat(s), v))
                }
                FusedKerSpec::RoundingShiftRight(shift, _) => {
                    let s = 2f32.powi(-(shift as i32));
                    each(&mut acc, |v| f32x4_mul(f32x4_splat(s), v))
                }
                FusedKerSpec::ShiftLeft(shift) => {
                    let s = 2f32.powi(shift as i32);
                    each(&mut acc, |v| f32x4_mul(f32x4_splat(s), v))
                }
                FusedKerSpec::AddUnicast(tile) => {
                    for r in 0..MR {
                        let row = tile.ptr.offset(tile.row_byte_stride * r as isize);
                        let at = |c: isize| *(row.offset(tile.col_byte_stride * c) as *const f32);
                        acc[2 * r] = f32x4_add(acc[2 * r], f32x4(at(0), at(1), at(2), at(3)));
                        acc[2 * r + 1] = f32x4_add(acc[2 * r + 1], f32x4(at(4), at(5), at(6), at(7)));
                    }
                }
                FusedKerSpec::AddRowColProducts(rows, cols) => {
                    let c = [v128_load(cols as *const v128), v128_load((cols as *const v128).add(1))];
                    for r in 0..MR {
                        let s = f32x4_splat(*rows.add(r));
                        acc[2 * r] = madd(acc[2 * r], s, c[0]);
                        acc[2 * r + 1] = madd(acc[2 * r + 1], s, c[1]);
                    }
                }
                FusedKerSpec::Store(tile) => {
                    for r in 0..MR {
                        let row = tile.ptr.offset(tile.row_byte_stride * r as isize);
                        if tile.col_byte_stride == 4 {
                            v128_store(row as *mut v128, acc[2 * r]);
                            v128_store((row as *mut v128).add(1), acc[2 * r + 1]);
                        } else {
                            let at = |c: isize| row.offset(tile.col_byte_stride * c) as *mut f32;
                            let (lo, hi) = (acc[2 * r], acc[2 * r + 1]);
                            *at(0) = f32x4_extract_lane::<0>(lo);
                            *at(1) = f32x4_extract_lane::<1>(lo);
                            *at(2) = f32x4_extract_lane::<2>(lo);
                            *at(3) = f32x4_extract_lane::<3>(lo);
                            *at(4) = f32x4_extract_lane::<0>(hi);
                            *at(5) = f32x4_extract_lane::<1>(hi);
                            *at(6) = f32x4_extract_lane::<2>(hi);
                            *at(7) = f32x4_extract_lane::<3>(hi);
                        }
                    }
                }
                FusedKerSpec::AddMatMul { k, pa, pb, packing: _ } => {
                    // A: packed [k][MR], each value broadcast from memory. B: packed [k][NR].
                    // Spelled out as in benches/kernels/, so that what is measured there is what
                    // runs here.
                    let [mut c0, mut c1, mut c2, mut c3, mut c4, mut c5, mut c6, mut c7] = acc;
                    let (a, b) = (pa as *const u32, pb as *const v128);
                    for i in 0..k {
                        let (b0, b1) = (v128_load(b.add(2 * i)), v128_load(b.add(2 * i + 1)));
                        let p = a.add(MR * i);
                        let s = v128_load32_splat(p);
                        c0 = madd(c0, s, b0);
                        c1 = madd(c1, s, b1);
                        let s = v128_load32_splat(p.add(1));
                        c2 = madd(c2, s, b0);
                        c3 = madd(c3, s, b1);
                        let s = v128_load32_splat(p.add(2));
                        c4 = madd(c4, s, b0);
                        c5 = madd(c5, s, b1);
                        let s = v128_load32_splat(p.add(3));
                        c6 = madd(c6, s, b0);
                        c7 = madd(c7, s, b1);
                    }
                    acc = [c0, c1, c2, c3, c4, c5, c6, c7];
                }
            }
        }
    }
    0
}

fn make() -> Box<dyn MatMatMul> {
    let mut kernel = DynKernel::<MR, NR, f32>::new(
        KERNEL_NAME,
        kernel_f32_4x8,
        f32::packing(MR).align(16),
        f32::packing(NR).align(16),
    );
    kernel.arch = Some(Arch::Wasm32Simd128);
    kernel.mmm()
}

fn preferred(_: &IsaSet, dt: DatumType, query: &Query, _: &[Suitable]) -> Option<&'static str> {
    (dt == DatumType::F32 && query.n != Some(1)).then_some(KERNEL_NAME)
}

inventory::submit! { MmmRoutine { make } }

inventory::submit! {
    MmmTier {
        arch: Some(Arch::Wasm32Simd128),
        // tract's own wasm tier is 1: ours is asked first.
        precedence: 2,
        name: "facenet-wasm",
        applies: |_| true,
        preferred,
    }
}
