//! RGB crop → the model's input tensor: resize the whole crop, standardize, lay out.

use crate::manifest::{InputSpec, Layout};
use image::imageops::{self, FilterType};
use image::RgbImage;

/// Resizes the whole crop to the input size (no aspect-preserving padding: detectors hand us
/// square-ish boxes and FaceNet was trained on stretched ones) with a triangle filter, which
/// widens with the scale factor like Pillow's `BILINEAR` and so antialiases large crops the
/// same way the reference does. Then `(x - mean) / std` per channel.
///
/// Writes into `out` (cleared first) so a caller can reuse one buffer for every image.
pub fn to_input(image: &RgbImage, spec: &InputSpec, out: &mut Vec<f32>) {
    let resized;
    let image = if image.dimensions() == (spec.width, spec.height) {
        image
    } else {
        resized = imageops::resize(image, spec.width, spec.height, FilterType::Triangle);
        &resized
    };
    let order = spec.channels.order();
    let scale = spec.std.map(|s| 1.0 / s);
    let standardize = |pixel: &image::Rgb<u8>, c: usize| (pixel.0[order[c]] as f32 - spec.mean[c]) * scale[c];
    out.clear();
    match spec.layout {
        // (H, W, 3), row-major: pixels in order, channels interleaved.
        Layout::NHWC => out.extend(image.pixels().flat_map(|p| (0..3).map(move |c| standardize(p, c)))),
        // (3, H, W): one plane per channel.
        Layout::NCHW => {
            for c in 0..3 {
                out.extend(image.pixels().map(|p| standardize(p, c)));
            }
        }
    }
}

/// Scales `v` to unit length in place. A zero vector stays zero (and is rejected upstream).
pub fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Channels;
    use crate::Manifest;

    #[test]
    fn standardizes_fixed_not_per_image() {
        // A flat 160×160 image of value 255 → (255 - 127.5) / 128 = 0.99609375 everywhere;
        // per-image prewhitening would give 0 (std 0).
        let spec = Manifest::facenet().input;
        let mut out = Vec::new();
        to_input(&RgbImage::from_pixel(160, 160, image::Rgb([255, 255, 255])), &spec, &mut out);
        assert_eq!(out.len(), 160 * 160 * 3);
        assert!(out.iter().all(|&x| x == 0.99609375));
    }

    #[test]
    fn nhwc_interleaves_and_nchw_splits_planes() {
        let mut spec = Manifest::facenet().input;
        (spec.width, spec.height) = (2, 1);
        (spec.mean, spec.std) = ([0.0; 3], [1.0; 3]);
        let image = RgbImage::from_raw(2, 1, vec![1, 2, 3, 4, 5, 6]).unwrap();
        let mut out = Vec::new();
        to_input(&image, &spec, &mut out);
        assert_eq!(out, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        spec.layout = Layout::NCHW;
        spec.channels = Channels::BGR;
        to_input(&image, &spec, &mut out);
        assert_eq!(out, [3.0, 6.0, 2.0, 5.0, 1.0, 4.0]);
    }

    #[test]
    fn normalizes_to_unit_length() {
        let mut v = [3.0, 4.0];
        l2_normalize(&mut v);
        assert_eq!(v, [0.6, 0.8]);
    }
}
