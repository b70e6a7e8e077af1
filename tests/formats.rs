//! Every supported encoding of one real face gives the vector its pixels deserve.

mod common;
use common::*;
use facenet_wasm::{cosine, decode_image, ErrorCode, Limits};
use image::{DynamicImage, ImageFormat, RgbImage};
use std::io::Cursor;

fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format).unwrap();
    bytes.into_inner()
}

fn pixels() -> RgbImage {
    decode_image(&face("s3b"), &Limits::default()).unwrap()
}

#[test]
fn lossless_encodings_of_the_same_pixels_give_the_same_vector() {
    let mut embedder = embedder("facenet");
    let reference = embedder.embed_image(&face("s3b")).unwrap();
    let rgb = pixels();
    let alpha: Vec<u8> = rgb.pixels().enumerate().flat_map(|(i, p)| [p[0], p[1], p[2], (i % 256) as u8]).collect();
    let rgba = image::RgbaImage::from_raw(rgb.width(), rgb.height(), alpha).unwrap();
    let cases = [
        ("PNG 8-bit", encode(DynamicImage::ImageRgb8(rgb.clone()), ImageFormat::Png)),
        // 16-bit values are 8-bit ones × 257, so the conversion back is exact.
        (
            "PNG 16-bit",
            encode(DynamicImage::ImageRgb16(DynamicImage::ImageRgb8(rgb.clone()).into_rgb16()), ImageFormat::Png),
        ),
        // Alpha is dropped, not composited: varying alpha leaves the colours as they are.
        ("PNG with alpha", encode(DynamicImage::ImageRgba8(rgba.clone()), ImageFormat::Png)),
        ("WebP lossless", encode(DynamicImage::ImageRgb8(rgb.clone()), ImageFormat::WebP)),
        ("BMP", encode(DynamicImage::ImageRgb8(rgb.clone()), ImageFormat::Bmp)),
    ];
    for (what, bytes) in cases {
        let e = embedder.embed_image(&bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(e.vector, reference.vector, "{what}");
    }
    let from_rgba = embedder.embed_rgba(rgba.as_raw(), rgba.width(), rgba.height()).unwrap();
    assert_eq!(from_rgba.vector, reference.vector, "raw RGBA pixels");
}

/// The person whose golden vector is nearest to `vector`.
fn nearest_person(vector: &[f32]) -> String {
    let golden = golden();
    people()
        .into_iter()
        .max_by(|a, b| cosine(vector, &golden[a]["facenet"]).total_cmp(&cosine(vector, &golden[b]["facenet"])))
        .unwrap()
}

#[test]
fn lossy_encodings_still_find_the_person() {
    let mut embedder = embedder("facenet");
    let reference = embedder.embed_image(&face("s3b")).unwrap().vector;
    let gray = encode(DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(pixels()).into_luma8()), ImageFormat::Png);
    let gif = encode(DynamicImage::ImageRgba8(DynamicImage::ImageRgb8(pixels()).into_rgba8()), ImageFormat::Gif);
    // Different people stay below cosine 0.54 here (tests/verification.rs); colour carries
    // part of a face's signature, so gray keeps ~0.88.
    let cases = [
        ("gray PNG", gray, 0.8),
        ("GIF (256 colours)", gif, 0.95),
        ("progressive JPEG", read("tests/formats/s3b-progressive.jpg"), 0.995),
    ];
    for (what, bytes, min_cosine) in cases {
        let v = embedder.embed_image(&bytes).unwrap_or_else(|e| panic!("{what}: {e}")).vector;
        let c = cosine(&v, &reference);
        eprintln!("{what}: cosine {c:.4} against the baseline JPEG");
        assert!(c >= min_cosine, "{what}: cosine {c}");
        assert_eq!(nearest_person(&v), "s3b", "{what}");
    }
}

#[test]
fn exif_orientation_is_honoured() {
    let mut embedder = embedder("facenet");
    let reference = embedder.embed_image(&face("s3b")).unwrap().vector;
    let bytes = read("tests/formats/s3b-exif6.jpg");
    let upright = embedder.embed_image(&bytes).unwrap().vector;
    // The same file with its orientation ignored: a face lying on its side.
    let sideways = embedder.embed_rgb(&image::load_from_memory(&bytes).unwrap().into_rgb8()).unwrap().vector;
    let (c_upright, c_sideways) = (cosine(&upright, &reference), cosine(&sideways, &reference));
    eprintln!("EXIF orientation 6: cosine {c_upright:.4} honoured, {c_sideways:.4} ignored");
    assert!(c_upright >= 0.995, "{c_upright}");
    assert!(c_sideways < 0.9, "the rotation should matter: {c_sideways}");
}

#[test]
fn a_bad_item_fails_alone_in_a_batch() {
    let mut embedder = embedder("facenet");
    let jpeg = face("s1a");
    let truncated = jpeg[..jpeg.len() / 2].to_vec();
    let batch = [face("s2a"), b"hello, I am text".to_vec(), jpeg.clone(), truncated, Vec::new()];
    let results = embedder.embed_batch(&batch);
    let codes: Vec<Option<ErrorCode>> = results.iter().map(|r| r.as_ref().err().map(|e| e.code())).collect();
    assert_eq!(
        codes,
        [None, Some(ErrorCode::UnsupportedFormat), None, Some(ErrorCode::DecodeError), Some(ErrorCode::DecodeError)]
    );
    assert_eq!(results[0].as_ref().unwrap(), &embedder.embed_image(&batch[0]).unwrap());
    assert_eq!(results[2].as_ref().unwrap(), &embedder.embed_image(&jpeg).unwrap());
}
