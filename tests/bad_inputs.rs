//! Every error type out of a bad input, none of them a panic.

mod common;
use common::*;
use facenet_wasm::{decode_image, EmbedError, Embedder, ErrorCode, Limits, Manifest};
use image::{DynamicImage, ImageFormat, RgbImage};
use std::io::Cursor;

fn code(result: Result<impl std::fmt::Debug, EmbedError>) -> ErrorCode {
    result.expect_err("should fail").code()
}

fn decode(bytes: &[u8]) -> Result<RgbImage, EmbedError> {
    decode_image(bytes, &Limits::default())
}

fn encode(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 7])))
        .write_to(&mut bytes, format)
        .unwrap();
    bytes.into_inner()
}

/// CRC-32 (ISO-HDLC), as PNG chunks carry it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let mut body = kind.to_vec();
    body.extend(data);
    png.extend((data.len() as u32).to_be_bytes());
    png.extend(&body);
    png.extend(crc32(&body).to_be_bytes());
}

/// A well-formed PNG claiming `width × height` RGB, with one empty data chunk: 57 bytes.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]); // 8-bit, truecolour, deflate, no filter, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(&mut png, b"IEND", &[]);
    png
}

#[test]
fn empty_bytes_are_a_decode_error() {
    assert_eq!(code(decode(&[])), ErrorCode::DecodeError);
}

#[test]
fn truncated_images_are_decode_errors_at_every_cut() {
    // Cut real files at many lengths: each cut must fail cleanly, never panic or pass as a
    // half-gray face.
    let jpeg = face("s1a");
    let png = encode(64, 64, ImageFormat::Png);
    let webp = encode(64, 64, ImageFormat::WebP);
    for (name, bytes) in [("JPEG", &jpeg), ("PNG", &png), ("WebP", &webp)] {
        for i in 1..40 {
            let cut = bytes.len() * i / 40;
            let err = decode(&bytes[..cut]).expect_err(&format!("{name} cut at {cut} of {} bytes", bytes.len()));
            assert!(
                matches!(err.code(), ErrorCode::DecodeError | ErrorCode::UnsupportedFormat),
                "{name} cut at {cut}: {err}"
            );
        }
        assert!(decode(bytes).is_ok(), "{name} whole");
    }
    let message = decode(&jpeg[..jpeg.len() - 100]).unwrap_err().to_string();
    assert!(message.contains("truncated"), "{message}");
}

#[test]
fn text_and_html_are_unsupported_and_say_what_arrived() {
    assert_eq!(code(decode(b"name,embedding\n253,0.1\n")), ErrorCode::UnsupportedFormat);
    let err = decode(b"<!DOCTYPE html><html><body>404 Not Found</body></html>").unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnsupportedFormat);
    assert!(err.to_string().contains("\"<!DOCTYP\""), "{err}");
}

#[test]
fn formats_we_do_not_decode_are_unsupported() {
    // TIFF and ICO headers: real formats, not among ours.
    assert_eq!(code(decode(b"II*\x00\x08\x00\x00\x00\x00\x00\x00\x00")), ErrorCode::UnsupportedFormat);
    assert_eq!(code(decode(b"\x00\x00\x01\x00\x01\x00\x10\x10\x00\x00")), ErrorCode::UnsupportedFormat);
}

#[test]
fn a_1x1_image_is_too_small() {
    let err = decode(&encode(1, 1, ImageFormat::Png)).unwrap_err();
    assert_eq!(err, EmbedError::ImageTooSmall { width: 1, height: 1, min_side: 16 });
    assert_eq!(code(decode(&encode(200, 15, ImageFormat::Bmp))), ErrorCode::ImageTooSmall);
}

#[test]
fn a_png_claiming_30000x30000_is_too_large_before_any_allocation() {
    let err = decode(&png_header(30000, 30000)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ImageTooLarge, "{err}");
    assert!(err.to_string().contains("30000"), "{err}");
}

#[test]
fn each_format_decodes_with_room_and_fails_with_tight_limits() {
    let tight_pixels = Limits { max_width: 63, max_height: 63, ..Limits::default() };
    let tight_memory = Limits { max_alloc: 1000, ..Limits::default() };
    for format in [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP, ImageFormat::Bmp, ImageFormat::Gif] {
        let bytes = encode(64, 64, format);
        assert_eq!(decode(&bytes).unwrap().dimensions(), (64, 64), "{format:?}");
        assert_eq!(code(decode_image(&bytes, &tight_pixels)), ErrorCode::ImageTooLarge, "{format:?} pixels");
        assert_eq!(code(decode_image(&bytes, &tight_memory)), ErrorCode::ImageTooLarge, "{format:?} memory");
    }
}

#[test]
fn rgba_of_the_wrong_length_is_invalid_input() {
    let mut embedder = embedder("facenet");
    assert_eq!(code(embedder.embed_rgba(&[0; 100], 160, 160)), ErrorCode::InvalidInput);
    assert_eq!(code(embedder.embed_rgba(&[0; 4], 1, 1)), ErrorCode::ImageTooSmall);
}

#[test]
fn bad_model_bytes_are_model_load_errors() {
    let onnx = read("models/facenet.onnx");
    let html = b"<!DOCTYPE html><title>404</title>";
    let err = Embedder::builder(html, Manifest::facenet()).build().unwrap_err();
    assert_eq!(err.code(), ErrorCode::ModelLoadError);
    assert!(err.to_string().contains("sha256"), "the hash check comes first: {err}");
    let err = Embedder::builder(html, Manifest::facenet()).verify_hash(false).build().unwrap_err();
    assert!(err.to_string().contains("not a readable ONNX model"), "{err}");
    assert!(err.to_string().contains("3c 21 44 4f"), "says what arrived: {err}");
    let truncated = &onnx[..onnx.len() / 2];
    assert_eq!(code(Embedder::builder(truncated, Manifest::facenet()).build()), ErrorCode::ModelLoadError);
    assert_eq!(
        code(Embedder::builder(truncated, Manifest::facenet()).verify_hash(false).build()),
        ErrorCode::ModelLoadError
    );
}

#[test]
fn an_unknown_model_name_lists_the_known_ones() {
    let err = Embedder::builder(b"", Manifest::facenet()).model("arcface").build().unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnknownModel);
    assert!(err.to_string().contains("facenet, facenet512"), "{err}");
}

#[test]
fn a_manifest_that_disagrees_with_the_model_is_refused_at_load() {
    let mut manifest =
        Manifest::from_json(&String::from_utf8(read("tests/models/channel-mean.json")).unwrap()).unwrap();
    manifest.outputs[0].dimension = Some(4);
    let err = Embedder::builder(&read("tests/models/channel-mean.onnx"), manifest).build().unwrap_err();
    assert_eq!(err.code(), ErrorCode::ModelLoadError);
    assert!(err.to_string().contains("has 3 values, the manifest says 4"), "{err}");
}

#[test]
fn an_output_with_nan_is_an_inference_error() {
    // log(mean) of a dark image standardized around 127.5 is the log of a negative number.
    let manifest = Manifest::from_json(&String::from_utf8(read("tests/models/log-mean.json")).unwrap()).unwrap();
    let mut embedder = Embedder::builder(&read("tests/models/log-mean.onnx"), manifest).build().unwrap();
    let dark = RgbImage::from_pixel(32, 32, image::Rgb([10, 10, 10]));
    let err = embedder.embed_rgb(&dark).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InferenceError);
    assert!(err.to_string().contains("NaN"), "{err}");
    let bright = RgbImage::from_pixel(32, 32, image::Rgb([200, 200, 200]));
    assert!(embedder.embed_rgb(&bright).is_ok(), "the same embedder goes on working");
}

#[test]
fn every_core_error_code_is_reached_above() {
    // The codes the core can return; WorkerCrashed, Timeout, CropNotFound, InvalidEmbedding and
    // Unauthorized belong to the browser client and the backend.
    let core = [
        ErrorCode::DecodeError,
        ErrorCode::UnsupportedFormat,
        ErrorCode::ImageTooLarge,
        ErrorCode::ImageTooSmall,
        ErrorCode::InvalidInput,
        ErrorCode::ModelLoadError,
        ErrorCode::UnknownModel,
        ErrorCode::InferenceError,
    ];
    let source = String::from_utf8(read("tests/bad_inputs.rs")).unwrap();
    for c in core {
        let uses = source.matches(&format!("ErrorCode::{}", c.as_str())).count();
        assert!(uses >= 2, "{c} is not asserted by a test in this file"); // the list above, and a test
    }
}
