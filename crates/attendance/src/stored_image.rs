//! What a stored image may carry: pixels, nothing else. A photo from a phone holds EXIF (GPS
//! position, camera, time) and more in its JPEG segments; both backends keep an uploaded image
//! byte for byte only when it is a JPEG without any of it (as the page's crops are), and
//! otherwise store it re-encoded from its decoded pixels, orientation applied first.

/// Whether `bytes` may be stored as they are: a JPEG whose segments before the image data are
/// only the baseline ones (APP0/JFIF, tables, frame) — no APP1–APP15 (EXIF, XMP, ICC, maker
/// notes…) and no comment. Anything else (another format, a JPEG that does not parse) is
/// re-encoded.
///
/// ```
/// use facenet_attendance::stored_image::keeps_as_is;
/// let plain = [0xFF, 0xD8, 0xFF, 0xE0, 0, 4, b'J', b'F', 0xFF, 0xDA, 0, 2];
/// let exif = [0xFF, 0xD8, 0xFF, 0xE1, 0, 4, b'E', b'x', 0xFF, 0xDA, 0, 2];
/// assert!(keeps_as_is(&plain) && !keeps_as_is(&exif));
/// ```
pub fn keeps_as_is(bytes: &[u8]) -> bool {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return false;
    }
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return false;
        }
        let marker = bytes[i + 1];
        match marker {
            // Fill bytes before a marker.
            0xFF => {
                i += 1;
                continue;
            }
            // Start of scan: the image data; nothing more to look at before it.
            0xDA => return true,
            0xE1..=0xEF | 0xFE => return false,
            _ => {}
        }
        let length = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        if length < 2 {
            return false;
        }
        i += 2 + length;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_jpeg_is_kept_as_is() {
        let jpeg = |segments: &[u8]| {
            let mut b = vec![0xFF, 0xD8];
            for &m in segments {
                b.extend_from_slice(&[0xFF, m, 0, 3, 0]);
            }
            b.extend_from_slice(&[0xFF, 0xDA, 0, 2]);
            b
        };
        assert!(keeps_as_is(&jpeg(&[0xE0, 0xDB, 0xC0, 0xC4])));
        for marker in [0xE1, 0xE2, 0xED, 0xFE] {
            assert!(!keeps_as_is(&jpeg(&[0xE0, marker])), "{marker:x}");
        }
        assert!(!keeps_as_is(b"\x89PNG\r\n\x1a\n"));
        assert!(!keeps_as_is(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 9]), "a truncated JPEG");
        assert!(!keeps_as_is(&[]));
    }
}
