// GEMM micro-kernels in headless Chromium, SIMD128 and relaxed SIMD builds: the measurements
// behind src/wasm_kernel.rs (4×8 tile, load-splat broadcasts, named accumulators).
//
//   node benches/kernels.mjs
//
// One product of FaceNet's size (M 384, K 576, N 1024: a 3×3 convolution over 32×32 with 64
// input and 384 output channels), median of 15 after 3 warm-up, in GMAC/s.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchEngine } from '../tests/browser/harness.mjs';
import { ROOT } from '../tests/browser/server.mjs';

const crate = join(ROOT, 'benches/kernels');
const targetDir = join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target'), 'kernel-bench');
const builds = { 'SIMD128': '+simd128', 'relaxed SIMD': '+simd128,+relaxed-simd' };
const wasm = {};
for (const [name, features] of Object.entries(builds)) {
  const dir = join(targetDir, features.replace(/[+,]/g, '_'));
  execFileSync('cargo', ['build', '--release', '--quiet', '--target', 'wasm32-unknown-unknown', '--target-dir', dir], {
    cwd: crate, stdio: 'inherit', env: { ...process.env, RUSTFLAGS: `-C target-feature=${features}` },
  });
  wasm[name] = [...readFileSync(join(dir, 'wasm32-unknown-unknown/release/facenet_wasm_kernel_bench.wasm'))];
}

const KERNELS = {
  gemm_tract_8x8: "tract 0.23's wasm_f32_8x8 (16 accumulators, shuffle broadcasts)",
  gemm_splat_8x8: '8×8, load-splat broadcasts',
  gemm_splat_4x8: '4×8, load-splat broadcasts (ours)',
};
const browser = await launchEngine('chromium');
const page = await browser.newPage('about:blank');
const results = {};
for (const [name, bytes] of Object.entries(wasm)) {
  results[name] = await page.evaluate(async ({ bytes, kernels }) => {
    const { instance } = await WebAssembly.instantiate(new Uint8Array(bytes));
    const x = instance.exports;
    const [M, K, N] = [384, 576, 1024];
    const a = x.alloc(M * K), b = x.alloc(N * K), c = x.alloc(M * N);
    const out = {};
    for (const kernel of kernels) {
      for (let i = 0; i < 3; i++) x[kernel](a, b, c, M, N, K);
      const times = [];
      for (let r = 0; r < 15; r++) {
        const t = performance.now();
        x[kernel](a, b, c, M, N, K);
        times.push(performance.now() - t);
      }
      times.sort((p, q) => p - q);
      out[kernel] = (M * N * K) / times[7] / 1e6;
    }
    return out;
  }, { bytes, kernels: Object.keys(KERNELS) });
}
await browser.close();
console.log(`\n| kernel | ${Object.keys(builds).join(' GMAC/s | ')} GMAC/s |`);
console.log(`| --- |${' --- |'.repeat(Object.keys(builds).length)}`);
for (const [kernel, label] of Object.entries(KERNELS)) {
  console.log(`| ${label} | ${Object.keys(builds).map((b) => results[b][kernel].toFixed(1)).join(' | ')} |`);
}
