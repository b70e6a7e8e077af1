//! Untrusted bytes → an upright RGB image, within [`Limits`].

use crate::{EmbedError, Limits};
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, RgbImage};
use std::io::Cursor;

/// Decodes JPEG (baseline, progressive), PNG (8/16-bit, gray, alpha), WebP, BMP or GIF (first
/// frame), applies the EXIF orientation, and converts to 8-bit RGB (alpha is dropped).
pub fn decode_image(bytes: &[u8], limits: &Limits) -> Result<RgbImage, EmbedError> {
    if bytes.is_empty() {
        return Err(EmbedError::DecodeError { format: "empty".into(), reason: "0 bytes".into() });
    }
    let format = image::guess_format(bytes)
        .ok()
        .filter(|f| {
            matches!(f, ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Bmp | ImageFormat::Gif)
        })
        .ok_or_else(|| EmbedError::UnsupportedFormat(describe_start(bytes)))?;
    let name = format_name(format);
    let fail = |e: ImageError| map_image_error(e, bytes, format, limits);
    if format == ImageFormat::Jpeg {
        check_jpeg_complete(bytes)?;
    }

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits.for_image_crate());
    let mut decoder = reader.into_decoder().map_err(fail)?;
    let (width, height) = decoder.dimensions();
    check_size(width, height, limits)?;
    // A broken EXIF block is no reason to lose the face: fall back to the stored orientation.
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    // What the whole path holds at its peak, not only the decoded buffer: a rotation copies it,
    // and the conversion to 8-bit RGB adds width × height × 3 (a 16-bit RGBA PNG of 5600² is
    // 251 MB decoded, 345 MB with its RGB copy).
    let decoded = decoder.total_bytes();
    let rotated = if orientation == image::metadata::Orientation::NoTransforms { 0 } else { decoded };
    let rgb = if decoder.color_type() == image::ColorType::Rgb8 { 0 } else { width as u64 * height as u64 * 3 };
    let peak = decoded.saturating_add(rotated).saturating_add(rgb);
    if peak > limits.max_alloc {
        return Err(EmbedError::ImageTooLarge(format!(
            "{width}×{height} {name} ({:?}) needs {peak} bytes to decode and convert to RGB, limit {}",
            decoder.color_type(),
            limits.max_alloc
        )));
    }
    let mut image = DynamicImage::from_decoder(decoder).map_err(fail)?;
    image.apply_orientation(orientation);
    Ok(image.into_rgb8())
}

/// Encodes a crop as JPEG (what the CLI's `--crops` writes and the browser uploads). Fails
/// only for sizes JPEG cannot hold (a side of 0 or over 65,535).
pub fn encode_jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>, EmbedError> {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality.clamp(1, 100)).encode_image(image).map_err(
        |e| EmbedError::InvalidInput(format!("cannot encode a {}×{} JPEG: {e}", image.width(), image.height())),
    )?;
    Ok(bytes)
}

/// Wraps raw RGBA pixels (a canvas `ImageData`, an `ImageBitmap` read back) as RGB.
pub fn rgba_to_rgb(pixels: &[u8], width: u32, height: u32, limits: &Limits) -> Result<RgbImage, EmbedError> {
    let expected = (width as u64) * (height as u64) * 4;
    if pixels.len() as u64 != expected {
        return Err(EmbedError::InvalidInput(format!(
            "{} bytes of RGBA pixels for {width}×{height}; expected {expected} (width × height × 4)",
            pixels.len()
        )));
    }
    check_size(width, height, limits)?;
    let rgb: Vec<u8> = pixels.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    RgbImage::from_raw(width, height, rgb)
        .ok_or_else(|| EmbedError::InvalidInput(format!("{width}×{height} is not a valid image size")))
}

fn check_size(width: u32, height: u32, limits: &Limits) -> Result<(), EmbedError> {
    if width > limits.max_width || height > limits.max_height {
        return Err(EmbedError::ImageTooLarge(format!(
            "{width}×{height} pixels, limit {}×{}",
            limits.max_width, limits.max_height
        )));
    }
    if width < limits.min_side || height < limits.min_side {
        return Err(EmbedError::ImageTooSmall { width, height, min_side: limits.min_side });
    }
    Ok(())
}

/// The JPEG decoder fills a cut-off scan with gray and reports success; a half-gray face would
/// give a plausible but wrong vector. A complete file has an end-of-image marker (FF D9) after
/// its first start-of-scan (FF DA); searching after the scan skips an EXIF thumbnail's own EOI.
fn check_jpeg_complete(bytes: &[u8]) -> Result<(), EmbedError> {
    let scan = bytes.windows(2).position(|w| w == [0xFF, 0xDA]);
    let complete = scan.is_some_and(|s| bytes[s..].windows(2).any(|w| w == [0xFF, 0xD9]));
    if complete {
        Ok(())
    } else {
        Err(EmbedError::DecodeError {
            format: "JPEG".into(),
            reason: format!("truncated: {} bytes and no end-of-image marker after the scan data", bytes.len()),
        })
    }
}

fn map_image_error(error: ImageError, bytes: &[u8], format: ImageFormat, limits: &Limits) -> EmbedError {
    let name = format_name(format);
    match error {
        ImageError::Limits(e) => {
            // The limit error does not say what the header claimed; reading the header again
            // without limits does (headers only: nothing of the image is allocated).
            let mut header = ImageReader::with_format(Cursor::new(bytes), format);
            header.no_limits();
            let claimed =
                header.into_dimensions().map(|(w, h)| format!("{name} of {w}×{h} pixels: ")).unwrap_or_default();
            EmbedError::ImageTooLarge(format!(
                "{claimed}{e} (limits: {}×{} pixels, {} bytes)",
                limits.max_width, limits.max_height, limits.max_alloc
            ))
        }
        ImageError::Unsupported(e) => EmbedError::UnsupportedFormat(format!("{name}: {e}")),
        other => EmbedError::DecodeError { format: name.into(), reason: other.to_string() },
    }
}

fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Png => "PNG",
        ImageFormat::WebP => "WebP",
        ImageFormat::Bmp => "BMP",
        ImageFormat::Gif => "GIF",
        _ => "image",
    }
}

/// "starts with 3c 21 44 4f 43 54 ("<!DOCT")": says what arrived instead of an image, so an
/// HTML error page or a JSON body is recognisable in the message.
pub(crate) fn describe_start(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(8)];
    let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
    let text: String = head.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' }).collect();
    format!("{} bytes starting with {} ({text:?})", bytes.len(), hex.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_described_by_its_first_bytes() {
        let message = describe_start(b"<!DOCTYPE html><html>");
        assert_eq!(message, "21 bytes starting with 3c 21 44 4f 43 54 59 50 (\"<!DOCTYP\")");
    }

    #[test]
    fn rgba_buffer_of_wrong_length_is_invalid_input() {
        let err = rgba_to_rgb(&[0; 10], 2, 2, &Limits::default()).unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::InvalidInput);
    }

    #[test]
    fn the_limit_counts_the_rgb_copy_of_a_16_bit_image() {
        // 100×100 RGBA, 16 bits: 80,000 bytes decoded, plus 30,000 for its RGB copy.
        let image =
            image::DynamicImage::ImageRgba16(image::ImageBuffer::from_pixel(100, 100, image::Rgba([1000u16; 4])));
        let mut png = std::io::Cursor::new(Vec::new());
        image.write_to(&mut png, ImageFormat::Png).unwrap();
        let png = png.into_inner();
        let limits = |max_alloc| Limits { max_alloc, ..Limits::default() };
        assert!(decode_image(&png, &limits(110_000)).is_ok());
        let err = decode_image(&png, &limits(100_000)).unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::ImageTooLarge, "{err}");
        assert!(err.to_string().contains("110000 bytes"), "{err}");
    }

    #[test]
    fn rgba_drops_alpha() {
        let pixels: Vec<u8> = (0..16 * 16).flat_map(|i| [i as u8, 1, 2, 255]).collect();
        let rgb = rgba_to_rgb(&pixels, 16, 16, &Limits::default()).unwrap();
        assert_eq!(rgb.get_pixel(5, 0).0, [5, 1, 2]);
    }
}
