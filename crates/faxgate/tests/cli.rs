//! The `faxgate` command line: convert, tiff info and tiff extract, run as a user would.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::pages::repo_path as repo;
use common::scratch::Scratch;
use serde_json::Value;

fn chart_path(n: usize) -> PathBuf {
    repo(&format!("testdata/ccitt/ccitt{n}.pbm"))
}

/// Coded sizes from testdata/ccitt/README.md (libtiff's), MH / MR K=4 / MMR per chart.
const GOLDEN_SIZES: [[u64; 3]; 8] = [
    [37414, 25958, 18103],
    [34358, 19646, 10803],
    [65025, 40788, 28706],
    [108066, 81805, 69275],
    [68308, 44147, 32222],
    [51162, 28235, 16651],
    [106411, 81456, 69282],
    [62792, 33004, 19099],
];

fn faxgate<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_faxgate"))
        .args(args)
        // Fixed DateTime, so output does not depend on the clock.
        .env("SOURCE_DATE_EPOCH", "1709210096")
        .output()
        .expect("running faxgate")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "faxgate failed ({}): {}",
        output.status,
        stderr(output)
    );
}

#[track_caller]
fn assert_clean_failure(output: &Output, mentions: &[&str]) {
    assert!(!output.status.success(), "faxgate succeeded unexpectedly");
    let text = stderr(output);
    assert!(!text.contains("panicked"), "faxgate panicked: {text}");
    for word in mentions {
        assert!(text.contains(word), "stderr lacks {word:?}: {text}");
    }
}

fn info(tiff: &Path) -> Vec<Value> {
    let output = faxgate([
        Path::new("tiff").as_os_str(),
        "info".as_ref(),
        tiff.as_os_str(),
    ]);
    assert_success(&output);
    match serde_json::from_slice(&output.stdout).expect("tiff info prints JSON") {
        Value::Array(pages) => pages,
        other => panic!("expected an array, got {other}"),
    }
}

fn extract(tiff: &Path, dir: &Path) -> Output {
    let output = faxgate([
        "tiff".as_ref(),
        "extract".as_ref(),
        tiff.as_os_str(),
        "-o".as_ref(),
        dir.as_os_str(),
    ]);
    assert!(!stderr(&output).contains("panicked"));
    output
}

fn convert(inputs: &[PathBuf], output: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&std::ffi::OsStr> = vec!["convert".as_ref()];
    args.extend(inputs.iter().map(|p| p.as_os_str()));
    args.extend(["-o".as_ref(), output.as_os_str()]);
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    faxgate(args)
}

#[test]
fn charts_convert_with_every_compression_and_extract_to_the_same_pixels() {
    let scratch = Scratch::new("cli-charts");
    let charts: Vec<PathBuf> = (1..=8).map(chart_path).collect();
    for (column, compression) in ["mh", "mr", "mmr"].into_iter().enumerate() {
        let tiff = scratch.path(&format!("{compression}.tif"));
        assert_success(&convert(&charts, &tiff, &["--compression", compression]));

        let pages = info(&tiff);
        assert_eq!(pages.len(), 8);
        for (i, page) in pages.iter().enumerate() {
            assert_eq!(page["page"], i + 1);
            assert_eq!(page["width"], 1728);
            assert_eq!(page["height"], 2376);
            assert_eq!(page["x_resolution"], 204);
            assert_eq!(page["y_resolution"], 196);
            assert_eq!(page["compression"], compression);
            assert_eq!(page["fill_order"], 2);
            assert_eq!(page["photometric"], "white-is-zero");
            assert_eq!(
                page["encoded_bytes"], GOLDEN_SIZES[i][column],
                "{compression} {i}"
            );
            assert_eq!(page["page_number"], serde_json::json!([i, 8]));
            assert_eq!(page["date_time"], "2024:02:29 12:34:56");
        }

        let dir = scratch.path(&format!("{compression}-pages"));
        let output = extract(&tiff, &dir);
        assert_success(&output);
        assert_eq!(stderr(&output), "", "no damage to report");
        for (i, chart) in charts.iter().enumerate() {
            // Same header layout as the charts, so the whole files match.
            let page = fs::read(dir.join(format!("page-{:03}.pbm", i + 1))).expect("page written");
            assert!(
                page == fs::read(chart).expect("chart"),
                "{compression} page {}",
                i + 1
            );
        }
        assert_eq!(fs::read_dir(&dir).expect("dir").count(), 8);
    }
}

#[test]
fn mh_is_the_default_and_standard_resolution_halves_the_rows() {
    let scratch = Scratch::new("cli-standard");
    let tiff = scratch.path("standard.tif");
    let inputs = [chart_path(1), chart_path(2)];
    assert_success(&convert(&inputs, &tiff, &["--resolution", "standard"]));
    for page in info(&tiff) {
        assert_eq!(page["compression"], "mh");
        assert_eq!(page["height"], 1188);
        assert_eq!(page["y_resolution"], 98);
    }
    assert_success(&convert(
        &inputs,
        &tiff,
        &["--resolution", "standard", "--compression", "mr"],
    ));
    let dir = scratch.path("pages");
    assert_success(&extract(&tiff, &dir));
    let page = fs::read(dir.join("page-001.pbm")).expect("page written");
    assert!(page.starts_with(b"P4\n1728 1188\n"));

    // A PBM said to be at standard resolution is taken as it is.
    let tiff = scratch.path("as-standard.tif");
    assert_success(&convert(
        &inputs[..1],
        &tiff,
        &["--pbm-resolution", "standard", "--compression", "mmr"],
    ));
    let page = &info(&tiff)[0];
    assert_eq!(page["height"], 2376);
    assert_eq!(page["y_resolution"], 98);
}

#[test]
fn tiff_and_pbm_inputs_combine_in_order() {
    let scratch = Scratch::new("cli-mixed");
    let tiff = scratch.path("mixed.tif");
    let inputs = [
        repo("testdata/ccitt/ccitt1-8_mr_classf.tif"),
        chart_path(3),
        repo("testdata/ccitt/ccitt2_g4.tif"),
    ];
    assert_success(&convert(&inputs, &tiff, &["--compression", "mmr"]));
    let pages = info(&tiff);
    assert_eq!(pages.len(), 10);
    let dir = scratch.path("pages");
    assert_success(&extract(&tiff, &dir));
    for (page, chart) in [(1, 1), (8, 8), (9, 3), (10, 2)] {
        let got = fs::read(dir.join(format!("page-{page:03}.pbm"))).expect("page written");
        assert!(
            got == fs::read(chart_path(chart)).expect("chart"),
            "page {page}"
        );
    }
}

#[test]
fn odd_sized_pbms_become_a4_wide() {
    let scratch = Scratch::new("cli-odd");
    // A 12x2 ASCII PBM and a 2048-wide (B4) raw one.
    let narrow = scratch.path("narrow.pbm");
    fs::write(
        &narrow,
        "P1\n12 2\n1 0 0 0 0 0 0 0 0 0 0 1\n0 0 0 0 0 0 0 0 0 0 0 0\n",
    )
    .expect("write");
    let wide = scratch.path("wide.pbm");
    let mut data = b"P4\n2048 100\n".to_vec();
    data.extend(vec![0x80; 256 * 100]);
    fs::write(&wide, data).expect("write");
    let tiff = scratch.path("odd.tif");
    assert_success(&convert(&[narrow, wide], &tiff, &[]));
    let pages = info(&tiff);
    assert_eq!(pages[0]["width"], 1728);
    assert_eq!(pages[0]["height"], 2);
    assert_eq!(pages[1]["width"], 1728);
    assert_eq!(pages[1]["height"], 100 * 1728 / 2048);
}

#[test]
fn info_describes_the_reference_files() {
    let pages = info(&repo(
        "testdata/docs/sample-3page_gs-tiffg4_204x196_fit1728.tif",
    ));
    assert_eq!(pages.len(), 3);
    let sizes = [28542, 173_326, 27894];
    for (page, size) in pages.iter().zip(sizes) {
        assert_eq!(page["width"], 1728);
        assert_eq!(page["height"], 2292);
        assert_eq!(page["compression"], "mmr");
        assert_eq!(page["fill_order"], 1);
        assert_eq!(page["encoded_bytes"], size);
    }
    let pages = info(&repo("testdata/ccitt/ccitt1-8_mh_classf.tif"));
    assert_eq!(pages.len(), 8);
    for (page, sizes) in pages.iter().zip(GOLDEN_SIZES) {
        assert_eq!(page["compression"], "mh");
        assert_eq!(page["fill_order"], 2);
        assert_eq!(page["x_resolution"], 204);
        assert_eq!(page["y_resolution"], 196);
        assert_eq!(page["encoded_bytes"], sizes[0]);
    }
}

#[test]
fn damaged_pages_are_reported_and_still_written() {
    let scratch = Scratch::new("cli-damaged");
    let mut data = fs::read(repo("testdata/ccitt/ccitt1_g4.tif")).expect("read");
    // The strip starts at offset 8: garble some of it.
    for b in &mut data[9000..9040] {
        *b = 0x00;
    }
    let tiff = scratch.path("damaged.tif");
    fs::write(&tiff, data).expect("write");
    let dir = scratch.path("pages");
    let output = extract(&tiff, &dir);
    assert_success(&output);
    let text = stderr(&output);
    assert!(
        text.contains("page 1") && text.contains("damaged rows"),
        "{text}"
    );
    let page = fs::read(dir.join("page-001.pbm")).expect("damaged page written anyway");
    assert!(page.starts_with(b"P4\n1728 2376\n"));
}

#[test]
fn bad_inputs_fail_cleanly_naming_the_file() {
    let scratch = Scratch::new("cli-errors");
    let out = scratch.path("out.tif");
    let missing = scratch.path("no-such-file.pbm");
    assert_clean_failure(
        &convert(std::slice::from_ref(&missing), &out, &[]),
        &["no-such-file.pbm"],
    );
    assert!(!out.exists(), "nothing written on failure");

    let binary = scratch.path("data.bin");
    fs::write(&binary, [0u8, 1, 2, 3, 0xff, 0xfe, 0xfd, 0]).expect("write");
    assert_clean_failure(
        &convert(&[chart_path(1), binary], &out, &[]),
        &[
            "data.bin",
            "unsupported document type",
            "supported: plain text",
        ],
    );
    assert!(!out.exists(), "nothing written on failure");
    let text = scratch.path("notes.txt");
    fs::write(&text, "not an image\n").expect("write");

    for command in ["info", "extract"] {
        let mut args = vec!["tiff".as_ref(), command.as_ref(), text.as_os_str()];
        let dir = scratch.path("pages");
        if command == "extract" {
            args.extend(["-o".as_ref(), dir.as_os_str()]);
        }
        assert_clean_failure(&faxgate(&args), &["notes.txt", "not a TIFF file"]);
        let mut args = vec!["tiff".as_ref(), command.as_ref(), missing.as_os_str()];
        if command == "extract" {
            args.extend(["-o".as_ref(), dir.as_os_str()]);
        }
        assert_clean_failure(&faxgate(&args), &["no-such-file.pbm"]);
    }

    let truncated = scratch.path("truncated.tif");
    let data = fs::read(repo("testdata/ccitt/ccitt1_g4.tif")).expect("read");
    fs::write(&truncated, &data[..data.len() - 100]).expect("write");
    assert_clean_failure(
        &faxgate(["tiff".as_ref(), "info".as_ref(), truncated.as_os_str()]),
        &["truncated.tif", "outside the file"],
    );
    let bad_pbm = scratch.path("bad.pbm");
    fs::write(&bad_pbm, "P4\n1000000000 1\n").expect("write");
    assert_clean_failure(&convert(&[bad_pbm], &out, &[]), &["bad.pbm", "width"]);

    // Usage errors are clap's: exit status 2.
    let output = faxgate(["convert", "only-an-input.pbm"]);
    assert_eq!(output.status.code(), Some(2));
    let output = faxgate(["convert", "x.pbm", "-o", "y.tif", "--compression", "jbig"]);
    assert_eq!(output.status.code(), Some(2));
}
