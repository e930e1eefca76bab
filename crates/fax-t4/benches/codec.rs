//! Encode and decode the eight CCITT charts and a dithered worst case with MH, MR (K=4)
//! and MMR as a TIFF Class F file holds them. Throughput counts bytes of raw bitmap, so
//! figures compare across schemes.
//!
//! ```text
//! cargo bench -p fax-t4 --bench codec [-- FILTER]     # e.g. -- decode/mmr
//! ```

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fax_t4::{Bitmap, DecodeOptions, EncodeOptions, KFactor, Resolution, Scheme};

const SCHEMES: [(&str, Scheme); 3] = [
    ("mh", Scheme::Mh),
    ("mr-k4", Scheme::Mr { k: KFactor::K4 }),
    ("mmr", Scheme::Mmr),
];

fn pages() -> Vec<(String, Bitmap)> {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let mut files: Vec<(String, String)> = (1..=8)
        .map(|n| (format!("ccitt{n}"), format!("ccitt/ccitt{n}.pbm")))
        .collect();
    files.push((
        "stress-dither".into(),
        "docs/stress-dither_poppler-mono_1728x2292.pbm".into(),
    ));
    files
        .into_iter()
        .map(|(name, file)| {
            let path = testdata.join(file);
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let page = fax_t4::pbm::read(&data, Resolution::FINE)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (name, page)
        })
        .collect()
}

fn codec(c: &mut Criterion) {
    let pages = pages();
    for (scheme_name, scheme) in SCHEMES {
        let options = EncodeOptions::tiff(scheme);

        let mut group = c.benchmark_group(format!("encode/{scheme_name}"));
        for (name, page) in &pages {
            group.throughput(Throughput::Bytes(page.packed().len() as u64));
            group.bench_with_input(BenchmarkId::from_parameter(name), page, |b, page| {
                b.iter(|| fax_t4::encode(black_box(page), &options));
            });
        }
        group.finish();

        let mut group = c.benchmark_group(format!("decode/{scheme_name}"));
        for (name, page) in &pages {
            let coded = fax_t4::encode(page, &options);
            let mut decode_options = DecodeOptions::new(scheme, page.width());
            decode_options.rows = Some(page.height());
            group.throughput(Throughput::Bytes(page.packed().len() as u64));
            group.bench_with_input(BenchmarkId::from_parameter(name), &coded, |b, coded| {
                b.iter(|| fax_t4::decode(black_box(coded), &decode_options));
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    // 54 benchmarks of a few milliseconds each: short runs keep the whole set near three
    // minutes while the spread stays at a few percent.
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = codec
}
criterion_main!(benches);
