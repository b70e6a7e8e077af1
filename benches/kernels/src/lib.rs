//! C (m×n) = A (m×k) · B (k×n) over packed panels, one function per tile shape, exported for
//! benches/kernels.mjs. Each tile loops over k the way a tract micro-kernel does.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::missing_safety_doc)]
use std::arch::wasm32::*;

#[cfg(target_feature = "relaxed-simd")]
macro_rules! madd { ($acc:expr, $a:expr, $b:expr) => { f32x4_relaxed_madd($a, $b, $acc) }; }
#[cfg(not(target_feature = "relaxed-simd"))]
macro_rules! madd { ($acc:expr, $a:expr, $b:expr) => { f32x4_add($acc, f32x4_mul($a, $b)) }; }

/// `n` floats, all 0.5, leaked: the benchmark's A, B and C.
#[no_mangle]
pub extern "C" fn alloc(n: usize) -> *mut f32 {
    Vec::leak(vec![0.5f32; n]).as_mut_ptr()
}

macro_rules! gemm {
    ($name:ident, $mr:expr, $nr:expr, $tile:ident) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name(a: *const f32, b: *const f32, c: *mut f32, m: usize, n: usize, k: usize) {
            for i in 0..m / $mr {
                for j in 0..n / $nr {
                    $tile(a.add(i * $mr * k), b.add(j * $nr * k), c.add(i * $mr * n + j * $nr), n, k);
                }
            }
        }
    };
}

unsafe fn store(c: *mut f32, ldc: usize, rows: &[(v128, v128)]) {
    let c = c as *mut v128;
    for (r, (lo, hi)) in rows.iter().enumerate() {
        v128_store(c.add(r * ldc / 4), *lo);
        v128_store(c.add(r * ldc / 4 + 1), *hi);
    }
}

/// tract 0.23's wasm_f32_8x8: 16 accumulators, A loaded as two vectors and broadcast by shuffles.
#[inline(never)]
unsafe fn tract_8x8(a: *const f32, b: *const f32, c: *mut f32, ldc: usize, k: usize) {
    let (a, b) = (a as *const v128, b as *const v128);
    let z = f32x4_splat(0.0);
    let (mut c0l, mut c0h, mut c1l, mut c1h, mut c2l, mut c2h, mut c3l, mut c3h) = (z, z, z, z, z, z, z, z);
    let (mut c4l, mut c4h, mut c5l, mut c5h, mut c6l, mut c6h, mut c7l, mut c7h) = (z, z, z, z, z, z, z, z);
    for i in 0..k {
        let (alo, ahi) = (v128_load(a.add(2 * i)), v128_load(a.add(2 * i + 1)));
        let (bl, bh) = (v128_load(b.add(2 * i)), v128_load(b.add(2 * i + 1)));
        let s = i32x4_shuffle::<0, 0, 0, 0>(alo, alo); c0l = madd!(c0l, s, bl); c0h = madd!(c0h, s, bh);
        let s = i32x4_shuffle::<1, 1, 1, 1>(alo, alo); c1l = madd!(c1l, s, bl); c1h = madd!(c1h, s, bh);
        let s = i32x4_shuffle::<2, 2, 2, 2>(alo, alo); c2l = madd!(c2l, s, bl); c2h = madd!(c2h, s, bh);
        let s = i32x4_shuffle::<3, 3, 3, 3>(alo, alo); c3l = madd!(c3l, s, bl); c3h = madd!(c3h, s, bh);
        let s = i32x4_shuffle::<0, 0, 0, 0>(ahi, ahi); c4l = madd!(c4l, s, bl); c4h = madd!(c4h, s, bh);
        let s = i32x4_shuffle::<1, 1, 1, 1>(ahi, ahi); c5l = madd!(c5l, s, bl); c5h = madd!(c5h, s, bh);
        let s = i32x4_shuffle::<2, 2, 2, 2>(ahi, ahi); c6l = madd!(c6l, s, bl); c6h = madd!(c6h, s, bh);
        let s = i32x4_shuffle::<3, 3, 3, 3>(ahi, ahi); c7l = madd!(c7l, s, bl); c7h = madd!(c7h, s, bh);
    }
    store(c, ldc, &[(c0l, c0h), (c1l, c1h), (c2l, c2h), (c3l, c3h), (c4l, c4h), (c5l, c5h), (c6l, c6h), (c7l, c7h)]);
}

/// 8×8 with each A value broadcast straight from memory (v128.load32_splat).
#[inline(never)]
unsafe fn splat_8x8(a: *const f32, b: *const f32, c: *mut f32, ldc: usize, k: usize) {
    let b = b as *const v128;
    let z = f32x4_splat(0.0);
    let (mut c0l, mut c0h, mut c1l, mut c1h, mut c2l, mut c2h, mut c3l, mut c3h) = (z, z, z, z, z, z, z, z);
    let (mut c4l, mut c4h, mut c5l, mut c5h, mut c6l, mut c6h, mut c7l, mut c7h) = (z, z, z, z, z, z, z, z);
    for i in 0..k {
        let (bl, bh) = (v128_load(b.add(2 * i)), v128_load(b.add(2 * i + 1)));
        let p = a.add(8 * i) as *const u32;
        let s = v128_load32_splat(p); c0l = madd!(c0l, s, bl); c0h = madd!(c0h, s, bh);
        let s = v128_load32_splat(p.add(1)); c1l = madd!(c1l, s, bl); c1h = madd!(c1h, s, bh);
        let s = v128_load32_splat(p.add(2)); c2l = madd!(c2l, s, bl); c2h = madd!(c2h, s, bh);
        let s = v128_load32_splat(p.add(3)); c3l = madd!(c3l, s, bl); c3h = madd!(c3h, s, bh);
        let s = v128_load32_splat(p.add(4)); c4l = madd!(c4l, s, bl); c4h = madd!(c4h, s, bh);
        let s = v128_load32_splat(p.add(5)); c5l = madd!(c5l, s, bl); c5h = madd!(c5h, s, bh);
        let s = v128_load32_splat(p.add(6)); c6l = madd!(c6l, s, bl); c6h = madd!(c6h, s, bh);
        let s = v128_load32_splat(p.add(7)); c7l = madd!(c7l, s, bl); c7h = madd!(c7h, s, bh);
    }
    store(c, ldc, &[(c0l, c0h), (c1l, c1h), (c2l, c2h), (c3l, c3h), (c4l, c4h), (c5l, c5h), (c6l, c6h), (c7l, c7h)]);
}

/// Ours: 4×8, 8 accumulators, load-splat broadcasts, named accumulators.
#[inline(never)]
unsafe fn splat_4x8(a: *const f32, b: *const f32, c: *mut f32, ldc: usize, k: usize) {
    let b = b as *const v128;
    let z = f32x4_splat(0.0);
    let (mut c0l, mut c0h, mut c1l, mut c1h, mut c2l, mut c2h, mut c3l, mut c3h) = (z, z, z, z, z, z, z, z);
    for i in 0..k {
        let (bl, bh) = (v128_load(b.add(2 * i)), v128_load(b.add(2 * i + 1)));
        let p = a.add(4 * i) as *const u32;
        let s = v128_load32_splat(p); c0l = madd!(c0l, s, bl); c0h = madd!(c0h, s, bh);
        let s = v128_load32_splat(p.add(1)); c1l = madd!(c1l, s, bl); c1h = madd!(c1h, s, bh);
        let s = v128_load32_splat(p.add(2)); c2l = madd!(c2l, s, bl); c2h = madd!(c2h, s, bh);
        let s = v128_load32_splat(p.add(3)); c3l = madd!(c3l, s, bl); c3h = madd!(c3h, s, bh);
    }
    store(c, ldc, &[(c0l, c0h), (c1l, c1h), (c2l, c2h), (c3l, c3h)]);
}

gemm!(gemm_tract_8x8, 8, 8, tract_8x8);
gemm!(gemm_splat_8x8, 8, 8, splat_8x8);
gemm!(gemm_splat_4x8, 4, 8, splat_4x8);
