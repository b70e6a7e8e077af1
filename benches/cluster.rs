//! facenet-server's clustering (kodama's average linkage over cosine distances) at 1,000, 3,000
//! 5,000 (the most one assignment clusters: MAX_CLUSTERED) and 10,000 crops: time and peak memory. Prints a table; no assertions.
//!
//!     cargo bench --workspace --profile release --bench cluster
//!
//! The vectors are synthetic identities (one person per ten crops: a random unit centre plus
//! noise, normalized, about 0.3 cosine distance apart within a person), so that the dendrogram
//! merges as real sessions do. Sizes run in increasing order in one process, so the peak
//! resident memory printed after each is that size's peak.

use facenet_attendance::cluster::cluster;
use std::time::Instant;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn unit(&mut self, dimension: usize) -> Vec<f32> {
        normalized((0..dimension).map(|_| self.next()).collect())
    }
}

fn normalized(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// `n` crops of `n / 10` people.
fn session(n: usize, rng: &mut Rng) -> Vec<Vec<f32>> {
    let centres: Vec<Vec<f32>> = (0..n.div_ceil(10)).map(|_| rng.unit(128)).collect();
    (0..n)
        .map(|i| {
            let noise = rng.unit(128);
            normalized(centres[i % centres.len()].iter().zip(&noise).map(|(c, e)| c + 0.6 * e).collect())
        })
        .collect()
}

/// Peak resident memory of this process so far (Linux `VmHWM`), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
}

fn main() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    println!("| crops | people | clusters at 0.42 | time | peak RSS |");
    println!("| --- | --- | --- | --- | --- |");
    for n in [1_000, 3_000, 5_000, 10_000] {
        let vectors = session(n, &mut rng);
        let started = Instant::now();
        let clusters = cluster(&vectors, 0.42);
        let seconds = started.elapsed().as_secs_f64();
        let rss = peak_rss_mb().map_or("n/a".into(), |mb| format!("{mb:.0} MB"));
        println!("| {n} | {} | {} | {seconds:.2} s | {rss} |", n.div_ceil(10), clusters.len());
    }
}
