//! `faxgate convert` on documents: PDF (through Ghostscript), text, images, office files
//! (through LibreOffice), the fidelity report, limits and clear errors.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

fn doc(name: &str) -> PathBuf {
    repo("testdata/docs").join(name)
}

/// A directory under the target dir, emptied first and removed afterwards.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("convert-docs-{name}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn convert(inputs: &[PathBuf], output: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faxgate"))
        .arg("convert")
        .args(inputs)
        .arg("-o")
        .arg(output)
        .args(extra)
        .env("SOURCE_DATE_EPOCH", "0")
        .output()
        .expect("runs faxgate")
}

fn pages(tiff: &Path) -> Vec<fax_t4::Bitmap> {
    let data = fs::read(tiff).expect("reads output");
    let reader = fax_tiff::Reader::new(&data).expect("output is a TIFF");
    (0..reader.page_count())
        .map(|i| reader.decode_page(i).expect("page decodes").bitmap)
        .collect()
}

fn coded_sizes(tiff: &Path) -> Vec<u64> {
    let data = fs::read(tiff).expect("reads output");
    let reader = fax_tiff::Reader::new(&data).expect("output is a TIFF");
    (0..reader.page_count())
        .map(|i| {
            reader
                .strip_data(i)
                .expect("strips")
                .iter()
                .map(|s| s.len() as u64)
                .sum()
        })
        .collect()
}

fn assert_failure(output: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
    }
}

/// Compares pages with `testdata/docs/golden/NAME.tif`, a few edge pixels of
/// tolerance per page (Ghostscript and font updates move edges, not glyphs).
fn check_golden(name: &str, got: &[fax_t4::Bitmap]) {
    let want = pages(&doc(&format!("golden/{name}.tif")));
    assert_eq!(want.len(), got.len(), "{name}: page count");
    for (index, (want, got)) in want.iter().zip(got).enumerate() {
        assert_eq!((want.width(), want.height()), (got.width(), got.height()));
        let differing: u64 = want
            .packed()
            .iter()
            .zip(got.packed())
            .map(|(a, b)| u64::from((a ^ b).count_ones()))
            .sum();
        let allowed = (want.black_pixels() / 200).max(50);
        assert!(
            differing <= allowed,
            "{name} page {}: {differing} pixels differ (allowed {allowed})",
            index + 1
        );
    }
}

#[test]
fn documents_become_pages_in_argument_order_with_a_report() {
    let scratch = Scratch::new("order");
    let out = scratch.path("out.tif");
    let report = scratch.path("report.json");
    let inputs = [
        doc("sample-3page.pdf"),
        doc("chinese-gbk.txt"),
        doc("english-utf8-ff.txt"),
        repo("testdata/ccitt/ccitt1_g4.tif"),
    ];
    let output = convert(
        &inputs,
        &out,
        &[
            "--resolution",
            "fine",
            "--compression",
            "mmr",
            "--report-json",
        ],
    );
    // --report-json takes the path as its value.
    assert_eq!(output.status.code(), Some(2), "usage error without a path");
    let output = Command::new(env!("CARGO_BIN_EXE_faxgate"))
        .arg("convert")
        .args(&inputs)
        .args(["-o".as_ref(), out.as_os_str()])
        .args(["--resolution", "fine", "--compression", "mmr"])
        .args(["--report-json".as_ref(), report.as_os_str()])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("chinese-gbk.txt: text encoding guessed as GBK"),
        "{stderr}"
    );
    assert!(
        stderr.contains("sample-3page.pdf: page 2: grey tones halftoned"),
        "{stderr}"
    );

    let pages = pages(&out);
    assert_eq!(pages.len(), 3 + 1 + 2 + 1);
    assert!(pages.iter().all(|p| p.width() == 1728));
    assert!(pages[..6].iter().all(|p| p.height() == 2292));
    check_golden("sample-3page_fine", &pages[..3]);

    let report: Value =
        serde_json::from_str(&fs::read_to_string(&report).expect("report written")).expect("JSON");
    let documents = report["documents"].as_array().expect("documents");
    let kinds: Vec<&str> = documents
        .iter()
        .map(|d| d["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["pdf", "text", "text", "tiff"]);
    let counts: Vec<u64> = documents
        .iter()
        .map(|d| d["pages"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(counts, [3, 1, 2, 1]);
    assert_eq!(documents[1]["notes"][0]["encoding"], "GBK");
}

#[test]
fn photo_page_codes_no_larger_than_ghostscripts() {
    let scratch = Scratch::new("photo");
    // Ghostscript's tiffg4 (MMR) rendering of the same pages.
    let theirs = coded_sizes(&doc("sample-3page_gs-tiffg4_204x196_fit1728.tif"));
    for renderer in ["poppler", "ghostscript"] {
        let out = scratch.path(&format!("{renderer}.tif"));
        let output = convert(
            &[doc("sample-3page.pdf")],
            &out,
            &["--compression", "mmr", "--pdf-renderer", renderer],
        );
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let ours = coded_sizes(&out);
        assert_eq!(ours.len(), 3);
        for (page, (ours, theirs)) in ours.iter().zip(&theirs).enumerate() {
            // Page 2 is the photo, where the halftone decides; text pages differ by
            // the rasterizer's glyph edges, a percent or so either way.
            let allowed = if page == 1 {
                *theirs
            } else {
                theirs + theirs / 25
            };
            assert!(
                *ours <= allowed,
                "{renderer} page {}: {ours} bytes, Ghostscript {theirs}",
                page + 1
            );
        }
    }
}

#[test]
fn pdf_pages_match_the_golden_pages_with_either_renderer() {
    let scratch = Scratch::new("golden-pdf");
    let cases = [
        ("poppler", "fine", "sample-3page_fine"),
        ("poppler", "standard", "sample-3page_standard"),
        ("ghostscript", "fine", "sample-3page_fine_ghostscript"),
    ];
    for (renderer, resolution, golden) in cases {
        let out = scratch.path(&format!("{golden}.tif"));
        let output = convert(
            &[doc("sample-3page.pdf")],
            &out,
            &["--pdf-renderer", renderer, "--resolution", resolution],
        );
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        if std::env::var_os("FAXGATE_BLESS").is_some() {
            fs::copy(&out, doc(&format!("golden/{golden}.tif"))).expect("blesses");
        }
        check_golden(golden, &pages(&out));
    }
}

#[test]
fn pdf_pages_scaled_down_or_cut_are_reported() {
    let scratch = Scratch::new("pdf-scaled");
    let report = scratch.path("report.json");
    // An A3 page (297 x 420 mm): fitted to the fax page at about 71 %.
    let a3 = scratch.path("a3.pdf");
    let content = "0 0 m 842 1191 l S";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 842 1191] /Contents 4 0 R >>".to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend(format!("{} 0 obj\n{object}\nendobj\n", index + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        pdf.extend(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    fs::write(&a3, pdf).expect("writes");
    let output = Command::new(env!("CARGO_BIN_EXE_faxgate"))
        .arg("convert")
        .arg(&a3)
        .arg("-o")
        .arg(scratch.path("out.tif"))
        .arg("--report-json")
        .arg(&report)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("a3.pdf: page 1: scaled to 71%"), "{stderr}");
    let report: Value =
        serde_json::from_str(&fs::read_to_string(&report).expect("report")).expect("JSON");
    assert_eq!(report["documents"][0]["notes"][0]["kind"], "scaled");
    assert_eq!(report["documents"][0]["notes"][0]["percent"], 71);
}

/// A one-page PDF of `content` on an A4 page, with Helvetica as /F1.
fn one_page_pdf(content: &str) -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend(format!("{} 0 obj\n{object}\nendobj\n", index + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        pdf.extend(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

#[test]
fn grey_fill_on_a_page_without_pictures_is_halftoned() {
    let scratch = Scratch::new("grey-fill");
    // Text and rules only: drawn one bit per pixel, the same as in grey.
    let text = scratch.path("text.pdf");
    fs::write(
        &text,
        one_page_pdf("BT /F1 24 Tf 72 700 Td (Text only) Tj ET 2 w 72 650 m 500 650 l S"),
    )
    .expect("writes");
    // No picture either, but grey fills, which poppler's bilevel drawing dithers: the
    // page is drawn again in grey and gets the clustered-dot halftone.
    let fill = scratch.path("fill.pdf");
    fs::write(
        &fill,
        one_page_pdf(
            "BT /F1 24 Tf 72 700 Td (Grey fills) Tj ET \
             0.85 g 72 400 300 200 re f 0.5 g 72 150 300 200 re f",
        ),
    )
    .expect("writes");
    let report = scratch.path("report.json");
    let out = scratch.path("out.tif");
    let output = Command::new(env!("CARGO_BIN_EXE_faxgate"))
        .arg("convert")
        .args([&text, &fill])
        .arg("-o")
        .arg(&out)
        .args(["--compression", "mmr"])
        .arg("--report-json")
        .arg(&report)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let report: Value =
        serde_json::from_str(&fs::read_to_string(&report).expect("report")).expect("JSON");
    assert_eq!(report["documents"][0]["notes"], serde_json::json!([]));
    assert_eq!(
        report["documents"][1]["notes"],
        serde_json::json!([{"kind": "halftoned", "page": 1}])
    );
    let pages = pages(&out);
    assert_eq!(pages.len(), 2);
    // Clustered dots: the two fills code to about 60 KB, where poppler's dispersed
    // dither of them takes about 340 KB.
    let sizes = coded_sizes(&out);
    assert!(sizes[1] < 120_000, "grey fills coded to {} bytes", sizes[1]);
}

#[test]
fn standard_resolution_halves_rendered_pages() {
    let scratch = Scratch::new("standard");
    let out = scratch.path("out.tif");
    let output = convert(
        &[doc("chinese-utf8.txt"), doc("sample-3page.pdf")],
        &out,
        &["--resolution", "standard", "--paper", "letter"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let pages = pages(&out);
    assert_eq!(pages.len(), 4);
    assert!(
        pages
            .iter()
            .all(|p| (p.width(), p.height()) == (1728, 1078))
    );
    assert!(pages.iter().all(|p| p.black_pixels() > 10_000));
}

#[test]
fn bad_documents_fail_with_a_clear_reason() {
    let scratch = Scratch::new("bad");
    let out = scratch.path("out.tif");

    let output = convert(&[doc("encrypted.pdf")], &out, &[]);
    assert_failure(&output, &["encrypted.pdf", "encrypted with a password"]);

    let truncated = scratch.path("truncated.pdf");
    let pdf = fs::read(doc("sample-3page.pdf")).expect("reads");
    fs::write(&truncated, &pdf[..60_000]).expect("writes");
    assert_failure(
        &convert(&[truncated], &out, &[]),
        &["truncated.pdf", "could not read the PDF"],
    );

    let random = scratch.path("random.bin");
    let mut state = 0x2545_f491_u32;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    fs::write(&random, &bytes).expect("writes");
    assert_failure(
        &convert(&[random], &out, &[]),
        &["random.bin", "unsupported document type", "PDF, PNG, JPEG"],
    );

    let png = scratch.path("truncated.png");
    let mut header = b"\x89PNG\r\n\x1a\n".to_vec();
    header.extend([0, 0, 0, 13]);
    fs::write(&png, &header).expect("writes");
    assert_failure(
        &convert(&[png], &out, &[]),
        &["truncated.png", "damaged PNG image"],
    );

    let output = convert(&[doc("sample-3page.pdf")], &out, &["--max-pages", "2"]);
    assert_failure(&output, &["sample-3page.pdf", "more than 2 pages"]);
    assert!(!out.exists(), "nothing written on failure");
}

#[test]
fn office_files_need_libreoffice_and_say_which_package() {
    let scratch = Scratch::new("office");
    let out = scratch.path("out.tif");
    let output = convert(
        &[doc("sample.docx")],
        &out,
        &["--soffice", "/nonexistent/soffice"],
    );
    assert_failure(
        &output,
        &["sample.docx", "libreoffice-writer", "libreoffice-calc"],
    );
}

#[test]
fn a_converter_that_hangs_is_stopped_at_the_timeout() {
    let scratch = Scratch::new("timeout");
    let out = scratch.path("out.tif");
    // Stands in for LibreOffice: never finishes.
    let hang = scratch.path("soffice");
    fs::write(&hang, "#!/bin/sh\nexec sleep 60\n").expect("writes");
    let status = Command::new("chmod")
        .arg("+x")
        .arg(&hang)
        .status()
        .expect("chmod");
    assert!(status.success());
    let output = convert(
        &[doc("sample.xlsx")],
        &out,
        &[
            "--soffice",
            hang.to_str().expect("UTF-8 path"),
            "--timeout",
            "1",
        ],
    );
    assert_failure(&output, &["sample.xlsx", "longer than 1 s", "stopped"]);
}

/// Office documents of every kind the samples cover, with the pages LibreOffice lays
/// them out on.
const OFFICE_SAMPLES: &[(&str, u64)] = &[
    ("sample.docx", 2),
    ("sample.xlsx", 1),
    ("sample.odt", 2),
    ("sample.doc", 2),
    ("sample.xls", 1),
    ("sample.ods", 1),
    ("sample.rtf", 2),
    ("sample-slides.pptx", 2),
    ("sample-slides.ppt", 2),
    // Kingsoft WPS Office's own extensions for Word- and Excel-compatible files.
    ("sample.wps", 2),
    ("sample.et", 1),
    // Windows 3.x Write, made by testdata/docs/make_sample_wri.py.
    ("sample.wri", 2),
];

/// Index of the first fax page of `name` when all [`OFFICE_SAMPLES`] convert together.
fn first_page_of(name: &str) -> usize {
    OFFICE_SAMPLES
        .iter()
        .take_while(|(sample, _)| *sample != name)
        .map(|(_, pages)| *pages as usize)
        .sum()
}

/// `page` mirrored along its diagonal: the lines of a turned (landscape) page run
/// across again, for [`text_bands`].
fn transposed(page: &fax_t4::Bitmap) -> fax_t4::Bitmap {
    let mut out = fax_t4::Bitmap::new(page.height(), page.width(), page.resolution())
        .expect("transposed page");
    for y in 0..page.height() {
        for x in 0..page.width() {
            if page.get(x, y) {
                out.set(y, x, true);
            }
        }
    }
    out
}

/// Rows of text: runs of rows with black pixels, separated by white rows, as
/// (first row, rows).
fn text_bands(page: &fax_t4::Bitmap) -> Vec<(u32, u32)> {
    let mut bands = Vec::new();
    let mut start = None;
    for (y, row) in page.rows().enumerate() {
        let inked = row.iter().any(|b| *b != 0);
        match (inked, start) {
            (true, None) => start = Some(y as u32),
            (false, Some(s)) => {
                bands.push((s, y as u32 - s));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        bands.push((s, page.height() - s));
    }
    bands
}

/// The pieces of one band of text between white columns (a glyph, or part of one), as
/// their bitmaps; returns (pieces, distinct pieces). Missing glyphs print as the same
/// box again and again, real CJK glyphs are nearly all different.
fn glyph_diversity(page: &fax_t4::Bitmap, (top, rows): (u32, u32)) -> (usize, usize) {
    let inked_column = |x: u32| (top..top + rows).any(|y| page.get(x, y));
    let mut pieces: Vec<Vec<bool>> = Vec::new();
    let mut x = 0;
    while x < page.width() {
        if !inked_column(x) {
            x += 1;
            continue;
        }
        let start = x;
        while x < page.width() && inked_column(x) {
            x += 1;
        }
        // Trim to the piece's own rows so vertical position in the band does not count.
        let ys: Vec<u32> = (top..top + rows)
            .filter(|y| (start..x).any(|px| page.get(px, *y)))
            .collect();
        let (first, last) = (ys[0], ys[ys.len() - 1]);
        let mut bits = vec![(x - start) != 0];
        for y in first..=last {
            bits.extend((start..x).map(|px| page.get(px, y)));
            bits.push(false);
        }
        pieces.push(bits);
    }
    let count = pieces.len();
    pieces.sort();
    pieces.dedup();
    (count, pieces.len())
}

/// A fontconfig setup with only the Latin faces: CJK text prints as boxes.
fn fontconfig_without_cjk(scratch: &Scratch) -> PathBuf {
    let file = scratch.path("fonts-no-cjk.conf");
    fs::write(
        &file,
        format!(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE fontconfig SYSTEM \"fonts.dtd\">\n\
             <fontconfig><dir>/usr/share/fonts/truetype/dejavu</dir>\
             <cachedir>{}</cachedir></fontconfig>\n",
            scratch.path("fc-cache").display()
        ),
    )
    .expect("writes fontconfig file");
    file
}

#[test]
fn office_documents_become_pages_with_their_cjk_text() {
    let scratch = Scratch::new("office-all");
    let all = scratch.path("all.tif");
    let report = scratch.path("report.json");
    let cold = scratch.path("cold.tif");
    let tofu = scratch.path("tofu.tif");
    let inputs: Vec<PathBuf> = OFFICE_SAMPLES.iter().map(|(name, _)| doc(name)).collect();
    let no_cjk = fontconfig_without_cjk(&scratch);
    // An OLE2 file under a Works extension that no filter recognises (LibreOffice
    // cannot write Works files, so no real one is at hand): LibreOffice would open it
    // as plain text.
    let unreadable = scratch.path("works.wps");
    let mut junk = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1".to_vec();
    junk.extend((0..2048u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    fs::write(&unreadable, &junk).expect("writes");
    let refused = scratch.path("refused.tif");
    // LibreOffice takes seconds to start: the four runs go side by side, each with
    // profiles of its own.
    let (warm_run, cold_run, tofu_run, refused_run) = std::thread::scope(|s| {
        let warm = s.spawn(|| {
            let mut extra = vec!["--office", "warm", "--report-json"];
            extra.push(report.to_str().expect("UTF-8 path"));
            convert(&inputs, &all, &extra)
        });
        let cold = s.spawn(|| convert(&[doc("sample.rtf")], &cold, &["--office", "cold"]));
        let tofu = s.spawn(|| {
            Command::new(env!("CARGO_BIN_EXE_faxgate"))
                .arg("convert")
                .arg(doc("sample.rtf"))
                .arg("-o")
                .arg(&tofu)
                .args(["--office", "warm"])
                .env("FONTCONFIG_FILE", &no_cjk)
                .env("SOURCE_DATE_EPOCH", "0")
                .output()
                .expect("runs faxgate")
        });
        let refused_run = s.spawn(|| {
            convert(
                std::slice::from_ref(&unreadable),
                &refused,
                &["--office", "warm"],
            )
        });
        (
            warm.join().expect("warm run"),
            cold.join().expect("cold run"),
            tofu.join().expect("tofu run"),
            refused_run.join().expect("refused run"),
        )
    });
    assert_failure(
        &refused_run,
        &["works.wps", "does not recognise the file's format"],
    );
    for run in [&warm_run, &cold_run, &tofu_run] {
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }

    let report: Value =
        serde_json::from_str(&fs::read_to_string(&report).expect("report written")).expect("JSON");
    let documents = report["documents"].as_array().expect("documents");
    let got: Vec<(&str, u64)> = documents
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap_or(""),
                d["pages"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let want: Vec<(&str, u64)> = OFFICE_SAMPLES.iter().map(|(_, n)| ("office", *n)).collect();
    assert_eq!(got, want);
    let pages = pages(&all);
    assert_eq!(
        pages.len() as u64,
        OFFICE_SAMPLES.iter().map(|(_, n)| n).sum::<u64>()
    );
    assert!(
        pages
            .iter()
            .all(|p| (p.width(), p.height()) == (1728, 2292))
    );
    assert!(
        pages.iter().all(|p| p.black_pixels() > 2_000),
        "no blank page"
    );

    // The RTF's pages start at page 12 of the fax; its fourth line is Chinese.
    let rtf_first = 2 + 1 + 2 + 2 + 1 + 1;
    let warm_rtf = &pages[rtf_first..rtf_first + 2];
    let cold_rtf = self::pages(&cold);
    assert_eq!(cold_rtf.len(), 2);
    for (warm, cold) in warm_rtf.iter().zip(&cold_rtf) {
        assert!(
            warm.packed() == cold.packed(),
            "a warm LibreOffice lays out the same pages as a cold one"
        );
    }
    let chinese = text_bands(&warm_rtf[0])[3];
    let (glyphs, distinct) = glyph_diversity(&warm_rtf[0], chinese);
    assert!(
        glyphs >= 15 && distinct * 10 >= glyphs * 7,
        "Chinese line: {distinct} distinct shapes in {glyphs} (boxes instead of glyphs?)"
    );
    // The Kingsoft extensions hold Word and Excel files: the same pages as those.
    for (kingsoft, microsoft) in [("sample.wps", "sample.doc"), ("sample.et", "sample.xls")] {
        let (k, m) = (first_page_of(kingsoft), first_page_of(microsoft));
        let count = OFFICE_SAMPLES
            .iter()
            .find(|(name, _)| *name == microsoft)
            .map_or(0, |(_, n)| *n as usize);
        for offset in 0..count {
            assert!(
                pages[k + offset].packed() == pages[m + offset].packed(),
                "{kingsoft} page {} differs from {microsoft}",
                offset + 1
            );
        }
    }
    // The .ppt's second slide (landscape, so turned on the page) has its Chinese line.
    let slide = transposed(&pages[first_page_of("sample-slides.ppt") + 1]);
    let bands = text_bands(&slide);
    assert_eq!(bands.len(), 2, "title and one line: {bands:?}");
    let (glyphs, distinct) = glyph_diversity(&slide, bands[1]);
    assert!(
        glyphs >= 15 && distinct * 10 >= glyphs * 7,
        "Chinese slide line: {distinct} distinct shapes in {glyphs}"
    );
    // The Write file: a title and three lines of Latin text on page 1 (with the ring
    // of the Å a band of its own), two lines after the page break.
    let write = first_page_of("sample.wri");
    let first = text_bands(&pages[write]);
    assert!(first.len() >= 4, "page 1 lines: {first:?}");
    let (letters, distinct) = glyph_diversity(&pages[write], first[1]);
    assert!(
        letters >= 40 && distinct >= 20,
        "Write text line: {distinct} distinct shapes in {letters}"
    );
    assert_eq!(text_bands(&pages[write + 1]).len(), 2);

    // The same check sees the boxes that LibreOffice prints without a CJK font.
    let tofu = self::pages(&tofu);
    let boxes = text_bands(&tofu[0])[3];
    let (glyphs, distinct) = glyph_diversity(&tofu[0], boxes);
    assert!(
        glyphs >= 15 && distinct * 4 <= glyphs,
        "without CJK fonts: {distinct} distinct shapes in {glyphs}"
    );
}

/// Whether `needle` (a line rendered alone, see `fax_render::annotate::render_line`)
/// appears pixel for pixel somewhere in the top `rows` of `page`.
fn printed_in_top(page: &fax_t4::Bitmap, needle: &fax_t4::Bitmap, rows: u32) -> bool {
    let ink: Vec<(u32, u32)> = (0..needle.height())
        .flat_map(|y| (0..needle.width()).map(move |x| (x, y)))
        .filter(|(x, y)| needle.get(*x, *y))
        .collect();
    let (x0, y0) = ink[0];
    (0..rows.saturating_sub(needle.height())).any(|top| {
        (0..=page.width() - needle.width()).any(|left| {
            page.get(left + x0, top + y0)
                && (0..needle.height()).all(|y| {
                    (0..needle.width()).all(|x| page.get(left + x, top + y) == needle.get(x, y))
                })
        })
    })
}

#[test]
fn header_line_and_cover_page() {
    let scratch = Scratch::new("header");
    let plain = scratch.path("plain.tif");
    let stamped = scratch.path("stamped.tif");
    let input = [doc("english-utf8-ff.txt")];
    let output = convert(&input, &plain, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = convert(
        &input,
        &stamped,
        &[
            "--header-from",
            "ACME Widgets Ltd",
            "--header-number",
            "+44 20 7946 0000",
            "--cover-to",
            "Jane Smith",
            "--cover-note",
            "Two pages follow.",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let plain = pages(&plain);
    let stamped = pages(&stamped);
    assert_eq!(
        (plain.len(), stamped.len()),
        (2, 3),
        "a cover page in front"
    );

    let fonts = fax_render::fonts::FontSet::new(vec![
        fax_render::fonts::Face::from_file(
            "DejaVu Sans Mono",
            Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
            0,
        )
        .expect("fonts-dejavu-core is installed"),
    ])
    .expect("font set");
    let line = |text: &str| {
        fax_render::annotate::render_line(text, &fonts, 9.0, fax_t4::Resolution::FINE)
            .expect("renders")
    };
    // SOURCE_DATE_EPOCH=0: the fax is dated 1970-01-01 00:00 UTC.
    let left = line("1970-01-01 00:00   ACME Widgets Ltd   +44 20 7946 0000");
    let band = 60; // rows: the header is about 45 rows high at fine resolution
    for (index, page) in stamped.iter().enumerate() {
        assert!(
            printed_in_top(page, &left, band),
            "page {}: header text",
            index + 1
        );
        let label = format!("Page {}/3", index + 1);
        assert!(
            printed_in_top(page, &line(&label), band),
            "page {}: {label}",
            index + 1
        );
        let other = format!("Page {}/3", (index + 1) % 3 + 1);
        assert!(
            !printed_in_top(page, &line(&other), band),
            "page {}: not {other}",
            index + 1
        );
    }
    // Below the header, the document's pages are what they were.
    for (plain, stamped) in plain.iter().zip(&stamped[1..]) {
        let stride = plain.stride();
        assert_eq!(
            plain.packed()[band as usize * stride..],
            stamped.packed()[band as usize * stride..]
        );
        assert!(
            plain.packed()[..band as usize * stride]
                .iter()
                .all(|b| *b == 0)
        );
    }
}

#[test]
fn text_and_images_convert_in_a_child_under_the_limits() {
    let scratch = Scratch::new("isolated");
    let out = scratch.path("out.tif");
    // 16 MiB of address space is too little for any conversion: the child fails, the
    // parent reports it and survives.
    let input = [doc("chinese-utf8.txt")];
    let output = convert(&input, &out, &["--max-memory-mib", "16"]);
    assert_failure(&output, &["chinese-utf8.txt", "conversion failed"]);
    // The same limit does not apply in-process: the child is what carries it.
    let output = convert(&input, &out, &["--max-memory-mib", "16", "--in-process"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let in_process = pages(&out);
    let output = convert(&input, &out, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let isolated = pages(&out);
    assert_eq!(in_process.len(), isolated.len());
    for (a, b) in in_process.iter().zip(&isolated) {
        assert!(a.packed() == b.packed(), "same pages either way");
    }
}
