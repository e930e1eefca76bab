//! Raster images: photos halftoned, line art thresholded, fax TIFFs kept, hostile
//! files refused before decoding.

use fax_render::image::render;
use fax_render::sniff::{ImageFormat, Kind, sniff};
use fax_render::{Error, Limits, Note, PageSetup};

fn png(width: u32, height: u32, pixel: impl Fn(u32, u32) -> u8) -> Vec<u8> {
    let grey = image::GrayImage::from_fn(width, height, |x, y| image::Luma([pixel(x, y)]));
    let mut out = std::io::Cursor::new(Vec::new());
    grey.write_to(&mut out, image::ImageFormat::Png)
        .expect("encodes PNG");
    out.into_inner()
}

/// CRC-32 of PNG chunks (ISO 3309), to forge a valid header.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn photo_is_halftoned_and_codes_compactly() {
    // A smooth two-way gradient with a soft disc: nothing but middle greys.
    let data = png(640, 420, |x, y| {
        let (dx, dy) = (x as f32 - 400.0, y as f32 - 200.0);
        let disc = if dx * dx + dy * dy < 90.0 * 90.0 {
            60.0
        } else {
            0.0
        };
        ((x as f32 / 640.0 * 160.0 + y as f32 / 420.0 * 60.0 + disc) as u32).min(255) as u8
    });
    assert_eq!(sniff(&data, None), Some(Kind::Image(ImageFormat::Png)));
    let rendered = render(
        &data,
        ImageFormat::Png,
        &PageSetup::default(),
        &Limits::default(),
    )
    .expect("renders");
    assert_eq!(rendered.pages.len(), 1);
    assert!(
        rendered
            .fidelity
            .notes
            .contains(&Note::Halftoned { page: 1 })
    );
    let page = &rendered.pages[0];
    assert_eq!((page.width(), page.height()), (1728, 2292));
    let coded = fax_t4::encode(page, &fax_t4::EncodeOptions::tiff(fax_t4::Scheme::Mmr));
    // A fine error diffusion of such a picture codes larger than the raw bitmap; the
    // clustered dots keep it well under half.
    assert!(
        coded.len() < page.packed().len() / 2,
        "{} coded bytes against {} raw",
        coded.len(),
        page.packed().len()
    );
}

#[test]
fn line_art_is_thresholded() {
    // Black strokes on white with a grey anti-aliased edge.
    let data = png(400, 300, |x, y| match (x % 40, y % 30) {
        (0..=3, _) | (_, 0..=2) => 0,
        (4, _) => 128,
        _ => 255,
    });
    let rendered = render(
        &data,
        ImageFormat::Png,
        &PageSetup::default(),
        &Limits::default(),
    )
    .expect("renders");
    assert!(
        !rendered
            .fidelity
            .notes
            .contains(&Note::Halftoned { page: 1 })
    );
    assert!(rendered.pages[0].black_pixels() > 10_000);
}

#[test]
fn fax_tiff_pages_pass_through() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/ccitt/ccitt1_g4.tif"
    );
    let data = std::fs::read(path).expect("reads chart");
    let rendered = render(
        &data,
        ImageFormat::Tiff,
        &PageSetup::default(),
        &Limits::default(),
    )
    .expect("renders");
    let reader = fax_tiff::Reader::new(&data).expect("TIFF");
    assert_eq!(
        rendered.pages,
        vec![reader.decode_page(0).expect("decodes").bitmap]
    );
}

#[test]
fn huge_dimensions_are_refused_before_decoding() {
    let mut data = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = b"IHDR".to_vec();
    chunk.extend(100_000u32.to_be_bytes());
    chunk.extend(100_000u32.to_be_bytes());
    chunk.extend([8, 0, 0, 0, 0]); // 8-bit grey
    data.extend(13u32.to_be_bytes());
    data.extend(&chunk);
    data.extend(crc32(&chunk).to_be_bytes());
    let result = render(
        &data,
        ImageFormat::Png,
        &PageSetup::default(),
        &Limits::default(),
    );
    assert!(
        matches!(result, Err(Error::TooLarge { .. } | Error::DecoderLimit(_))),
        "{result:?}"
    );
}

#[test]
fn truncated_and_random_images_are_errors_not_panics() {
    let whole = png(300, 200, |x, y| ((x * y) % 256) as u8);
    for cut in [8, 20, 33, whole.len() / 2, whole.len() - 12] {
        let result = render(
            &whole[..cut],
            ImageFormat::Png,
            &PageSetup::default(),
            &Limits::default(),
        );
        assert!(
            matches!(result, Err(Error::Damaged { .. })),
            "cut {cut}: {result:?}"
        );
    }
    let mut state = 0x9e37_79b9u32;
    let noise: Vec<u8> = (0..5000)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        })
        .collect();
    for format in [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Gif,
        ImageFormat::Bmp,
        ImageFormat::Tiff,
    ] {
        let result = render(&noise, format, &PageSetup::default(), &Limits::default());
        assert!(result.is_err(), "{format:?}");
    }
    assert_eq!(sniff(&noise, None), None);
}
