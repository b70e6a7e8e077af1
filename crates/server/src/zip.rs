//! A ZIP archive of stored (uncompressed) entries, the least a pupil's export needs: every unzip
//! tool and operating system opens it, and nothing here compresses images that are JPEG already.
//! (APPNOTE.TXT 6.3: local headers, the data, the central directory, its end record.)

/// The CRC-32 (IEEE 802.3) of `data`, as ZIP wants it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Builds an archive entry by entry.
#[derive(Default)]
pub(crate) struct Zip {
    out: Vec<u8>,
    directory: Vec<u8>,
    entries: u16,
}

impl Zip {
    /// Adds `name` (a relative path, `/` separated) holding `data`.
    pub(crate) fn add(&mut self, name: &str, data: &[u8]) {
        let (crc, size, offset) = (crc32(data), data.len() as u32, self.out.len() as u32);
        let name = name.as_bytes();
        // version needed 2.0, flag bit 11: the name is UTF-8; method 0: stored; no time (1980-01-01).
        let common = |buf: &mut Vec<u8>| {
            buf.extend_from_slice(&20u16.to_le_bytes());
            buf.extend_from_slice(&0x0800u16.to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes());
            buf.extend_from_slice(&0x0021u16.to_le_bytes());
            buf.extend_from_slice(&crc.to_le_bytes());
            buf.extend_from_slice(&size.to_le_bytes());
            buf.extend_from_slice(&size.to_le_bytes());
            buf.extend_from_slice(&(name.len() as u16).to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes());
        };
        self.out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut self.out);
        self.out.extend_from_slice(name);
        self.out.extend_from_slice(data);
        self.directory.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        self.directory.extend_from_slice(&20u16.to_le_bytes());
        common(&mut self.directory);
        self.directory.extend_from_slice(&[0; 8]); // comment length, disk, internal and external attributes
        self.directory.extend_from_slice(&[0; 4]);
        self.directory.extend_from_slice(&offset.to_le_bytes());
        self.directory.extend_from_slice(name);
        self.entries += 1;
    }

    /// The archive's bytes.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        let (start, length) = (self.out.len() as u32, self.directory.len() as u32);
        self.out.append(&mut self.directory);
        self.out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        self.out.extend_from_slice(&[0; 4]);
        self.out.extend_from_slice(&self.entries.to_le_bytes());
        self.out.extend_from_slice(&self.entries.to_le_bytes());
        self.out.extend_from_slice(&length.to_le_bytes());
        self.out.extend_from_slice(&start.to_le_bytes());
        self.out.extend_from_slice(&0u16.to_le_bytes());
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_the_ieee_one() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn an_archive_lists_its_entries_at_the_end() {
        let mut zip = Zip::default();
        zip.add("pupil.json", b"{}");
        zip.add("crops/1.jpg", &[0xff, 0xd8]);
        let bytes = zip.finish();
        assert_eq!(&bytes[..4], b"PK\x03\x04");
        let end = &bytes[bytes.len() - 22..];
        assert_eq!(&end[..4], b"PK\x05\x06");
        assert_eq!(u16::from_le_bytes([end[10], end[11]]), 2);
    }
}
