//! Bounds on untrusted images, checked before any large allocation.

/// Limits applied to every decode. A breach is an error for that image, never an abort.
///
/// The defaults admit a whole phone photo (4032×3024) yet refuse decompression bombs: a PNG
/// header claiming 30000×30000 fails on its dimensions before a pixel is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Widest image accepted, in pixels.
    pub max_width: u32,
    /// Tallest image accepted, in pixels.
    pub max_height: u32,
    /// Most bytes the decoder may allocate for one image.
    pub max_alloc: u64,
    /// Shortest side accepted, in pixels: below it there is no face to embed.
    pub min_side: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_width: 6000, max_height: 6000, max_alloc: 256 << 20, min_side: 16 }
    }
}

impl Limits {
    pub(crate) fn for_image_crate(&self) -> image::Limits {
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(self.max_width);
        limits.max_image_height = Some(self.max_height);
        limits.max_alloc = Some(self.max_alloc);
        limits
    }
}
