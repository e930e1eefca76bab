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
    let out = scratch.path("out.tif");
    let output = convert(&[doc("sample-3page.pdf")], &out, &["--compression", "mmr"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let ours = coded_sizes(&out);
    // Ghostscript's tiffg4 (MMR) rendering of the same pages.
    let theirs = coded_sizes(&doc("sample-3page_gs-tiffg4_204x196_fit1728.tif"));
    assert_eq!(ours.len(), 3);
    for (page, (ours, theirs)) in ours.iter().zip(&theirs).enumerate() {
        assert!(
            ours <= theirs,
            "page {}: {ours} bytes, Ghostscript {theirs}",
            page + 1
        );
    }
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
