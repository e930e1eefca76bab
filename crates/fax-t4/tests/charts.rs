//! The eight CCITT charts through every scheme: identical pixels back, and coded sizes
//! equal to what libtiff writes for the same options (testdata/ccitt/README.md).

use fax_t4::{DecodeOptions, EncodeOptions, KFactor, PageEnd, Resolution, Scheme, decode, encode};
use sha2::{Digest, Sha256};

fn chart(n: usize) -> fax_t4::Bitmap {
    let path = format!(
        "{}/../../testdata/ccitt/ccitt{n}.pbm",
        env!("CARGO_MANIFEST_DIR")
    );
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    fax_t4::pbm::read(&data, Resolution::FINE).expect("chart parses")
}

/// sha256 of the raster of each chart, from testdata/ccitt/README.md.
const PIXEL_SHA256: [&str; 8] = [
    "b4de070c35e376e891d9da77a07f9f7e9bd269fd5ed51f79181fdc96b8367051",
    "36bef714ea315e8ce5fc521c31d3465f219f1c3c204c60ec75a2aefd17e1fd30",
    "fc06f13146d3b7d7908787d52f8f046865c08b15681730dfb89f307d42ebecea",
    "c86239c32c27bede44ac35c9cbdc491a66b8f0b0745d46dc1df46a3ed13595f6",
    "0ec3a75089bb52342813496b17e51377bc9eba3cb519a444d67025354841d650",
    "bb69e36efdaa54f5145dcac05dc23a77fa281ab6794a77b773ed0652326c6add",
    "04aba43b3f0d5aede7a182849626597663a52df7d717751b613c2037e34c3514",
    "30af73b241a6c02bfa883b7363ba71d9ade592102df950498c431795f9a1474f",
];

/// libtiff 4.5's coded strip sizes: MH, MR K=4, MMR (EOL before every row, no RTC).
const LIBTIFF_SIZES: [[usize; 3]; 8] = [
    [37414, 25958, 18103],
    [34358, 19646, 10803],
    [65025, 40788, 28706],
    [108066, 81805, 69275],
    [68308, 44147, 32222],
    [51162, 28235, 16651],
    [106411, 81456, 69282],
    [62792, 33004, 19099],
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const SCHEMES: [Scheme; 3] = [Scheme::Mh, Scheme::Mr { k: KFactor::K4 }, Scheme::Mmr];

#[test]
fn charts_round_trip_with_identical_pixels_and_libtiff_sizes() {
    for n in 1..=8 {
        let page = chart(n);
        assert_eq!(
            hex(&Sha256::digest(page.packed())),
            PIXEL_SHA256[n - 1],
            "chart {n}"
        );
        for (s, scheme) in SCHEMES.into_iter().enumerate() {
            let coded = encode(&page, &EncodeOptions::tiff(scheme));
            let libtiff = LIBTIFF_SIZES[n - 1][s];
            assert!(
                coded.len().abs_diff(libtiff) <= 2,
                "chart {n} {scheme:?}: {} bytes, libtiff {libtiff}",
                coded.len()
            );
            let mut options = DecodeOptions::new(scheme, 1728);
            options.rows = Some(page.height());
            let decoded = decode(&coded, &options).expect("decodes");
            assert_eq!(decoded.bad_rows, 0, "chart {n} {scheme:?}");
            assert_eq!(decoded.bitmap, page, "chart {n} {scheme:?}");
        }
    }
}

#[test]
fn line_format_round_trips_to_rtc_without_knowing_the_height() {
    let page = chart(2);
    for scheme in [
        Scheme::Mh,
        Scheme::Mr { k: KFactor::K2 },
        Scheme::Mr {
            k: KFactor::Unlimited,
        },
    ] {
        for (align, min_bits) in [
            (false, 0),
            (true, 0),
            (false, 14_400 * 20 / 1000),
            (true, 1000),
        ] {
            let mut options = EncodeOptions::line(scheme, min_bits);
            options.byte_align_eol = align;
            let coded = encode(&page, &options);
            let decoded = decode(&coded, &DecodeOptions::new(scheme, 1728)).expect("decodes");
            assert_eq!(
                decoded.end,
                PageEnd::Rtc,
                "{scheme:?} align={align} min={min_bits}"
            );
            assert_eq!(decoded.bad_rows, 0);
            assert_eq!(decoded.bitmap, page);
        }
    }
    let coded = encode(&page, &EncodeOptions::tiff(Scheme::Mmr));
    let decoded = decode(&coded, &DecodeOptions::new(Scheme::Mmr, 1728)).expect("decodes");
    assert_eq!(decoded.end, PageEnd::Eofb);
    assert_eq!(decoded.bitmap, page);
}
