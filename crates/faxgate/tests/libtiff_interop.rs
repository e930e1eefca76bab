//! Cross-checks against the reference implementations, through the `faxgate` binary:
//!
//! - files we write decode to the original pixels with libtiff (netpbm's `tifftopnm`,
//!   which decodes through libtiff), and libtiff reads their directories without a warning;
//! - files libtiff writes (`tiffcp -c g3 / g3:2d / g3:…:fill / g4`, both fill orders, one
//!   or many strips, WhiteIsZero and BlackIsZero) decode to the original pixels with ours;
//! - files Ghostscript's fax devices write (`tiffg3`, `tiffg32d`, `tiffg4`, `tiffcrle`)
//!   decode to the same pixels with ours as with libtiff.
//!
//! The tools are Debian packages that `scripts/test` installs. A missing tool fails the
//! test instead of skipping it, so a green run always means the comparison happened.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

// ---------------------------------------------------------------------------------------
// Reference pages

/// The eight CCITT charts (1728 x 2376) and our own sample page (1728 x 2292, so one
/// multi-page file holds pages of two heights).
const REFERENCE_PAGES: [&str; 9] = [
    "testdata/ccitt/ccitt1.pbm",
    "testdata/ccitt/ccitt2.pbm",
    "testdata/ccitt/ccitt3.pbm",
    "testdata/ccitt/ccitt4.pbm",
    "testdata/ccitt/ccitt5.pbm",
    "testdata/ccitt/ccitt6.pbm",
    "testdata/ccitt/ccitt7.pbm",
    "testdata/ccitt/ccitt8.pbm",
    "testdata/sample/page.pbm",
];

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

fn reference_paths() -> Vec<PathBuf> {
    REFERENCE_PAGES.iter().map(|p| repo_path(p)).collect()
}

fn reference_pages() -> Vec<Pbm> {
    REFERENCE_PAGES
        .iter()
        .map(|p| {
            let path = repo_path(p);
            let data = fs::read(&path).unwrap_or_else(|e| panic!("reading {p}: {e}"));
            let mut pages = parse_pbms(&data).unwrap_or_else(|e| panic!("parsing {p}: {e}"));
            assert_eq!(pages.len(), 1, "{p} holds one page");
            pages.remove(0)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// A PBM reader of our own, independent of fax-t4, tolerant of any header spacing and of
// several images in a row (tifftopnm writes one per TIFF page).

/// A bilevel image: packed rows, 1 = black, MSB first, padding bits cleared.
#[derive(PartialEq, Eq)]
struct Pbm {
    width: usize,
    height: usize,
    rows: Vec<u8>,
}

impl Pbm {
    fn stride(&self) -> usize {
        self.width.div_ceil(8)
    }

    fn row(&self, y: usize) -> &[u8] {
        &self.rows[y * self.stride()..(y + 1) * self.stride()]
    }

    fn black_pixels(&self) -> u64 {
        self.rows.iter().map(|b| u64::from(b.count_ones())).sum()
    }
}

impl std::fmt::Debug for Pbm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Pbm {{ {}x{}, {} black }}",
            self.width,
            self.height,
            self.black_pixels()
        )
    }
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn skip_space_and_comments(&mut self) {
        while let Some(&b) = self.data.get(self.pos) {
            if b == b'#' {
                while self.data.get(self.pos).is_some_and(|&c| c != b'\n') {
                    self.pos += 1;
                }
            } else if b.is_ascii_whitespace() {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn number(&mut self) -> Result<usize, String> {
        self.skip_space_and_comments();
        let start = self.pos;
        while self.data.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        std::str::from_utf8(&self.data[start..self.pos])
            .ok()
            .and_then(|s| s.parse().ok())
            .filter(|&n: &usize| n > 0 && n <= 100_000)
            .ok_or_else(|| format!("bad number in PBM header at byte {start}"))
    }
}

fn parse_pbms(data: &[u8]) -> Result<Vec<Pbm>, String> {
    let mut cursor = Cursor { data, pos: 0 };
    let mut images = Vec::new();
    loop {
        cursor.skip_space_and_comments();
        if cursor.pos == data.len() {
            break;
        }
        let magic = data.get(cursor.pos..cursor.pos + 2);
        cursor.pos += 2;
        let width = cursor.number()?;
        let height = cursor.number()?;
        let stride = width.div_ceil(8);
        let mut rows = vec![0u8; stride * height];
        match magic {
            Some(b"P4") => {
                // exactly one whitespace byte ends the header
                cursor.pos += 1;
                let raster = data
                    .get(cursor.pos..cursor.pos + rows.len())
                    .ok_or("P4 raster is truncated")?;
                rows.copy_from_slice(raster);
                cursor.pos += rows.len();
            }
            Some(b"P1") => {
                for i in 0..width * height {
                    cursor.skip_space_and_comments();
                    let bit = match data.get(cursor.pos) {
                        Some(b'0') => 0,
                        Some(b'1') => 1,
                        _ => return Err(format!("bad P1 pixel at byte {}", cursor.pos)),
                    };
                    cursor.pos += 1;
                    let (y, x) = (i / width, i % width);
                    rows[y * stride + x / 8] |= bit << (7 - x % 8);
                }
            }
            other => return Err(format!("not a PBM: magic {other:?}")),
        }
        if width % 8 != 0 {
            let mask = 0xffu8 << (8 - width % 8);
            for y in 0..height {
                rows[y * stride + stride - 1] &= mask;
            }
        }
        images.push(Pbm {
            width,
            height,
            rows,
        });
    }
    Ok(images)
}

/// Panics with a short account of the difference (never a pixel dump).
fn assert_same_pixels(context: &str, expected: &Pbm, actual: &Pbm) {
    assert_eq!(
        (actual.width, actual.height),
        (expected.width, expected.height),
        "{context}: size differs"
    );
    let bad_rows: Vec<usize> = (0..expected.height)
        .filter(|&y| expected.row(y) != actual.row(y))
        .collect();
    assert!(
        bad_rows.is_empty(),
        "{context}: {} of {} rows differ (first: row {}; expected {} black pixels, got {})",
        bad_rows.len(),
        expected.height,
        bad_rows[0],
        expected.black_pixels(),
        actual.black_pixels()
    );
}

fn assert_same_pages(context: &str, expected: &[Pbm], actual: &[Pbm]) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "{context}: page count differs"
    );
    for (index, (want, got)) in expected.iter().zip(actual).enumerate() {
        assert_same_pixels(&format!("{context}, page {}", index + 1), want, got);
    }
}

// ---------------------------------------------------------------------------------------
// Scratch directories and processes

/// A directory of its own for one test, removed when the test passes and kept (with its
/// path printed) when it fails.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(test_name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "faxgate-libtiff-interop-{}-{test_name}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        Scratch { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept {} for inspection", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// The Debian package that provides each reference tool.
fn package_of(program: &str) -> &'static str {
    match program {
        "tiffcp" | "tiffinfo" | "tiffsplit" => "libtiff-tools",
        "tifftopnm" | "pnmtotiff" => "netpbm",
        "gs" => "ghostscript",
        _ => "?",
    }
}

/// Runs a reference tool; fails the test if it is missing or exits non-zero.
fn run_tool<I, S>(program: &str, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(program);
    command.args(args);
    let output = command.output().unwrap_or_else(|e| {
        if e.kind() == ErrorKind::NotFound {
            panic!(
                "`{program}` is not installed (Debian package {}). Run scripts/test, which \
                 installs every tool these tests need.",
                package_of(program)
            )
        }
        panic!("running {command:?}: {e}")
    });
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs the faxgate binary built for this test; fails the test on a non-zero exit.
fn run_faxgate<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(env!("CARGO_BIN_EXE_faxgate"));
    command.args(args);
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("running {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// libtiff reports damaged data and odd directories as warnings and carries on with exit
/// status 0, so its stderr is part of the verdict. netpbm's own chatter is not.
fn assert_libtiff_quiet(context: &str, stderr: &[u8]) {
    let complaints: Vec<&str> = std::str::from_utf8(stderr)
        .unwrap_or("<stderr is not UTF-8>")
        .lines()
        .filter(|line| {
            let lower = line.to_ascii_lowercase();
            (lower.contains("warning") || lower.contains("error"))
                // tifftopnm on FillOrder 2: libtiff already reversed the bits, and
                // tifftopnm says it will not reverse them again, which is right.
                && !lower.contains("overriding fillorder tag")
        })
        .collect();
    assert!(
        complaints.is_empty(),
        "{context}: libtiff complained:\n{}",
        complaints.join("\n")
    );
}

/// Decodes every page of `tiff` with libtiff (through tifftopnm).
fn decode_with_libtiff(tiff: &Path) -> Vec<Pbm> {
    let output = run_tool("tifftopnm", [tiff]);
    assert_libtiff_quiet(&format!("tifftopnm {}", tiff.display()), &output.stderr);
    parse_pbms(&output.stdout)
        .unwrap_or_else(|e| panic!("tifftopnm {} output: {e}", tiff.display()))
}

/// Decodes every page of `tiff` with faxgate (`faxgate tiff extract`).
fn decode_with_faxgate(tiff: &Path, out_dir: &Path) -> Vec<Pbm> {
    let output = run_faxgate([
        OsStr::new("tiff"),
        OsStr::new("extract"),
        tiff.as_os_str(),
        OsStr::new("-o"),
        out_dir.as_os_str(),
    ]);
    // Damaged rows are reported on stderr; a reference file must have none.
    assert!(
        output.stderr.is_empty(),
        "faxgate tiff extract {}: {}",
        tiff.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut pages = Vec::new();
    for number in 1.. {
        let path = out_dir.join(format!("page-{number:03}.pbm"));
        if !path.exists() {
            break;
        }
        let data = fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let mut images =
            parse_pbms(&data).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
        assert_eq!(images.len(), 1, "{} holds one page", path.display());
        pages.push(images.remove(0));
    }
    let files = fs::read_dir(out_dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", out_dir.display()))
        .count();
    assert_eq!(
        files,
        pages.len(),
        "{}: {} holds only page-NNN.pbm files, numbered from 001",
        tiff.display(),
        out_dir.display()
    );
    pages
}

/// `faxgate tiff info` as parsed JSON, one object per page.
fn faxgate_info(tiff: &Path) -> Vec<serde_json::Value> {
    let output = run_faxgate([OsStr::new("tiff"), OsStr::new("info"), tiff.as_os_str()]);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "faxgate tiff info {}: not JSON ({e}):\n{}",
            tiff.display(),
            String::from_utf8_lossy(&output.stdout)
        )
    });
    match value {
        serde_json::Value::Array(pages) => pages,
        other => panic!("faxgate tiff info: expected a JSON array, got {other}"),
    }
}

/// What libtiff's `tiffinfo` says about each directory: field name -> value.
fn libtiff_directories(tiff: &Path) -> Vec<HashMap<String, String>> {
    let output = run_tool("tiffinfo", [tiff]);
    assert_libtiff_quiet(&format!("tiffinfo {}", tiff.display()), &output.stderr);
    let text = String::from_utf8_lossy(&output.stdout);
    let mut directories: Vec<HashMap<String, String>> = Vec::new();
    for line in text.lines() {
        if line.starts_with("TIFF Directory at") {
            directories.push(HashMap::new());
        } else if let (Some(directory), Some((key, value))) =
            (directories.last_mut(), line.trim().split_once(": "))
        {
            directory.insert(key.to_owned(), value.trim().to_owned());
        }
    }
    directories
}

// ---------------------------------------------------------------------------------------
// a. Files we write, read by libtiff

fn libtiff_reads_what_we_write(test_name: &str, compression: &str) {
    let scratch = Scratch::new(test_name);
    let tiff = scratch.path("ours.tif");
    let mut args: Vec<&OsStr> = vec![OsStr::new("convert")];
    let inputs = reference_paths();
    args.extend(inputs.iter().map(|p| p.as_os_str()));
    args.extend(
        [
            "-o",
            tiff.to_str().expect("temp paths are UTF-8"),
            "--compression",
            compression,
            "--resolution",
            "fine",
        ]
        .map(OsStr::new),
    );
    run_faxgate(&args);

    let expected = reference_pages();
    let directories = libtiff_directories(&tiff);
    assert_eq!(directories.len(), expected.len(), "libtiff sees every page");
    let (scheme, two_d) = match compression {
        "mh" => ("CCITT Group 3", false),
        "mr" => ("CCITT Group 3", true),
        _ => ("CCITT Group 4", false),
    };
    for (index, directory) in directories.iter().enumerate() {
        let field = |name: &str| directory.get(name).map(String::as_str).unwrap_or("");
        let context = format!("{compression}, page {}: tiffinfo", index + 1);
        assert_eq!(field("Compression Scheme"), scheme, "{context}");
        assert_eq!(
            field("Group 3 Options").contains("2-d encoding"),
            two_d,
            "{context}: Group 3 Options {:?}",
            field("Group 3 Options")
        );
        assert_eq!(field("Resolution"), "204, 196 pixels/inch", "{context}");
        assert!(
            !field("Photometric Interpretation").is_empty(),
            "{context}: Photometric Interpretation is set"
        );
    }

    let decoded = decode_with_libtiff(&tiff);
    assert_same_pages(
        &format!("faxgate convert --compression {compression}, decoded by libtiff"),
        &expected,
        &decoded,
    );
}

#[test]
fn libtiff_decodes_our_mh_file_to_the_original_pixels() {
    libtiff_reads_what_we_write("ours-mh", "mh");
}

#[test]
fn libtiff_decodes_our_mr_file_to_the_original_pixels() {
    libtiff_reads_what_we_write("ours-mr", "mr");
}

#[test]
fn libtiff_decodes_our_mmr_file_to_the_original_pixels() {
    libtiff_reads_what_we_write("ours-mmr", "mmr");
}

/// At standard resolution the pages are converted (fine -> standard) before coding, and MR
/// uses K = 2; libtiff and we must still agree on every pixel and on the 98 lpi tag.
#[test]
fn libtiff_and_faxgate_agree_on_our_standard_resolution_mr_file() {
    let scratch = Scratch::new("ours-standard-mr");
    let tiff = scratch.path("ours.tif");
    let inputs = reference_paths();
    let mut args: Vec<&OsStr> = vec![OsStr::new("convert")];
    args.extend(inputs[..2].iter().map(|p| p.as_os_str()));
    args.push(OsStr::new("-o"));
    args.push(tiff.as_os_str());
    args.extend(["--compression", "mr", "--resolution", "standard"].map(OsStr::new));
    run_faxgate(&args);

    for (index, directory) in libtiff_directories(&tiff).iter().enumerate() {
        assert_eq!(
            directory.get("Resolution").map(String::as_str),
            Some("204, 98 pixels/inch"),
            "page {}",
            index + 1
        );
    }
    let by_libtiff = decode_with_libtiff(&tiff);
    let by_faxgate = decode_with_faxgate(&tiff, &scratch.path("pages"));
    assert_eq!(by_libtiff.len(), 2);
    for page in &by_libtiff {
        assert_eq!(page.width, 1728);
        assert_eq!(page.height, 2376 / 2, "fine -> standard halves the rows");
    }
    assert_same_pages(
        "standard-resolution MR: faxgate vs libtiff",
        &by_libtiff,
        &by_faxgate,
    );
}

// ---------------------------------------------------------------------------------------
// b. Files libtiff writes, read by us

#[derive(Clone, Copy)]
enum Photometric {
    WhiteIsZero,
    BlackIsZero,
}

struct LibtiffFile {
    /// `tiffcp -c` argument.
    tiffcp_compression: &'static str,
    /// `tiffcp -f lsb2msb`: FillOrder 2.
    lsb_first: bool,
    /// `None`: one strip per page. `Some(n)`: pnmtotiff's strips of `n` rows, kept by
    /// tiffcp, so every page has many strips.
    rows_per_strip: Option<u32>,
    photometric: Photometric,
    /// What `faxgate tiff info` must call the compression.
    expected_compression: &'static str,
}

impl LibtiffFile {
    const fn new(tiffcp_compression: &'static str, expected_compression: &'static str) -> Self {
        LibtiffFile {
            tiffcp_compression,
            lsb_first: false,
            rows_per_strip: None,
            photometric: Photometric::WhiteIsZero,
            expected_compression,
        }
    }

    const fn lsb_first(mut self) -> Self {
        self.lsb_first = true;
        self
    }

    const fn strips_of(mut self, rows: u32) -> Self {
        self.rows_per_strip = Some(rows);
        self
    }

    const fn black_is_zero(mut self) -> Self {
        self.photometric = Photometric::BlackIsZero;
        self
    }

    fn describe(&self) -> String {
        let mut text = format!("tiffcp -c {}", self.tiffcp_compression);
        if self.lsb_first {
            text.push_str(" -f lsb2msb");
        }
        match self.rows_per_strip {
            Some(rows) => write!(text, ", strips of {rows} rows"),
            None => write!(text, ", one strip per page"),
        }
        .expect("writing to a String");
        if let Photometric::BlackIsZero = self.photometric {
            text.push_str(", BlackIsZero");
        }
        text
    }
}

fn faxgate_reads_what_libtiff_writes(test_name: &str, file: LibtiffFile) {
    let scratch = Scratch::new(test_name);
    let context = file.describe();

    // Uncompressed TIFFs written by libtiff (through pnmtotiff), one per page.
    let mut uncompressed = Vec::new();
    for (index, pbm) in reference_paths().iter().enumerate() {
        let photometric = match file.photometric {
            Photometric::WhiteIsZero => "-miniswhite",
            Photometric::BlackIsZero => "-minisblack",
        };
        let rows_per_strip = format!("-rowsperstrip={}", file.rows_per_strip.unwrap_or(37));
        let output = run_tool(
            "pnmtotiff",
            [
                OsStr::new("-none"),
                OsStr::new(photometric),
                OsStr::new(&rows_per_strip),
                OsStr::new("-xresolution=204"),
                OsStr::new("-yresolution=196"),
                pbm.as_os_str(),
            ],
        );
        let path = scratch.path(&format!("plain-{:03}.tif", index + 1));
        fs::write(&path, &output.stdout).expect("writing to the scratch directory");
        uncompressed.push(path);
    }

    let tiff = scratch.path("libtiff.tif");
    let mut args: Vec<&OsStr> = vec![OsStr::new("-c"), OsStr::new(file.tiffcp_compression)];
    if file.lsb_first {
        args.extend([OsStr::new("-f"), OsStr::new("lsb2msb")]);
    }
    if file.rows_per_strip.is_none() {
        // more rows than any page has: libtiff then writes a single strip
        args.extend([OsStr::new("-r"), OsStr::new("100000")]);
    }
    args.extend(uncompressed.iter().map(|p| p.as_os_str()));
    args.push(tiff.as_os_str());
    let output = run_tool("tiffcp", &args);
    assert_libtiff_quiet(&context, &output.stderr);

    let expected = reference_pages();
    let info = faxgate_info(&tiff);
    assert_eq!(
        info.len(),
        expected.len(),
        "{context}: faxgate tiff info pages"
    );
    for (index, (page, want)) in info.iter().zip(&expected).enumerate() {
        let page_context = format!("{context}, page {}: faxgate tiff info {page}", index + 1);
        assert_eq!(page["width"], want.width, "{page_context}");
        assert_eq!(page["height"], want.height, "{page_context}");
        assert_eq!(
            page["compression"], file.expected_compression,
            "{page_context}"
        );
        assert_eq!(
            page["fill_order"],
            if file.lsb_first { 2 } else { 1 },
            "{page_context}"
        );
    }

    let decoded = decode_with_faxgate(&tiff, &scratch.path("pages"));
    assert_same_pages(
        &format!("{context}, decoded by faxgate"),
        &expected,
        &decoded,
    );
}

#[test]
fn faxgate_decodes_libtiff_g3_1d() {
    faxgate_reads_what_libtiff_writes("libtiff-g3", LibtiffFile::new("g3", "mh"));
}

#[test]
fn faxgate_decodes_libtiff_g3_1d_lsb_first() {
    faxgate_reads_what_libtiff_writes("libtiff-g3-lsb", LibtiffFile::new("g3", "mh").lsb_first());
}

#[test]
fn faxgate_decodes_libtiff_g3_1d_byte_aligned_eol() {
    faxgate_reads_what_libtiff_writes("libtiff-g3-fill", LibtiffFile::new("g3:1d:fill", "mh"));
}

#[test]
fn faxgate_decodes_libtiff_g3_2d() {
    faxgate_reads_what_libtiff_writes("libtiff-g3-2d", LibtiffFile::new("g3:2d", "mr"));
}

#[test]
fn faxgate_decodes_libtiff_g3_2d_lsb_first() {
    faxgate_reads_what_libtiff_writes(
        "libtiff-g3-2d-lsb",
        LibtiffFile::new("g3:2d", "mr").lsb_first(),
    );
}

#[test]
fn faxgate_decodes_libtiff_g3_2d_byte_aligned_eol_lsb_first() {
    faxgate_reads_what_libtiff_writes(
        "libtiff-g3-2d-fill-lsb",
        LibtiffFile::new("g3:2d:fill", "mr").lsb_first(),
    );
}

#[test]
fn faxgate_decodes_libtiff_g4() {
    faxgate_reads_what_libtiff_writes("libtiff-g4", LibtiffFile::new("g4", "mmr"));
}

#[test]
fn faxgate_decodes_libtiff_g4_lsb_first() {
    faxgate_reads_what_libtiff_writes("libtiff-g4-lsb", LibtiffFile::new("g4", "mmr").lsb_first());
}

#[test]
fn faxgate_decodes_libtiff_g3_1d_in_many_strips() {
    faxgate_reads_what_libtiff_writes(
        "libtiff-g3-strips",
        LibtiffFile::new("g3", "mh").strips_of(37),
    );
}

/// Every strip restarts the K chain with a 1-D line.
#[test]
fn faxgate_decodes_libtiff_g3_2d_in_many_strips() {
    faxgate_reads_what_libtiff_writes(
        "libtiff-g3-2d-strips",
        LibtiffFile::new("g3:2d", "mr").strips_of(37),
    );
}

/// Every strip is its own T.6 image with an all-white reference line and an EOFB.
#[test]
fn faxgate_decodes_libtiff_g4_in_many_strips() {
    faxgate_reads_what_libtiff_writes(
        "libtiff-g4-strips",
        LibtiffFile::new("g4", "mmr").strips_of(37).lsb_first(),
    );
}

/// The coded runs are of the stored bits, so with BlackIsZero the "white" codes are the
/// black pixels; the reader must invert.
#[test]
fn faxgate_decodes_libtiff_g4_black_is_zero() {
    faxgate_reads_what_libtiff_writes(
        "libtiff-g4-black-is-zero",
        LibtiffFile::new("g4", "mmr").black_is_zero(),
    );
}

#[test]
fn faxgate_decodes_libtiff_g3_2d_black_is_zero() {
    faxgate_reads_what_libtiff_writes(
        "libtiff-g3-2d-black-is-zero",
        LibtiffFile::new("g3:2d", "mr").black_is_zero(),
    );
}

/// The Class F files in testdata/ccitt, written by libtiff through its C API (not
/// tiffcp): MH, MR K=4 and MMR, FillOrder 2, eight pages each.
#[test]
fn faxgate_decodes_the_committed_libtiff_class_f_files() {
    let scratch = Scratch::new("committed-class-f");
    let charts = &reference_pages()[..8];
    for (name, compression) in [
        ("ccitt1-8_mh_classf.tif", "mh"),
        ("ccitt1-8_mr_classf.tif", "mr"),
        ("ccitt1-8_g4_classf.tif", "mmr"),
    ] {
        let tiff = repo_path(&format!("testdata/ccitt/{name}"));
        for page in faxgate_info(&tiff) {
            assert_eq!(page["compression"], compression, "{name}: {page}");
            assert_eq!(page["fill_order"], 2, "{name}: {page}");
        }
        let decoded = decode_with_faxgate(&tiff, &scratch.path(name));
        assert_same_pages(name, charts, &decoded);
    }
}

// ---------------------------------------------------------------------------------------
// c. Ghostscript's fax devices, read by us and by libtiff

/// Two A4 pages: small type, rules and an inverted band on the first; a halftone wedge,
/// circles and diagonals on the second.
const POSTSCRIPT: &str = "%!PS
/F { findfont exch scalefont setfont } def
0 setgray 40 760 515 50 rectfill
1 setgray 30 /Helvetica-Bold F 60 772 moveto (Fax interop) show
0 setgray 10 /Times-Roman F
0 1 40 { /i exch def 50 700 i 14 mul sub moveto
  (The quick brown fox jumps over the lazy dog 0123456789 \\(T.4 / T.6\\)) show } for
0.5 setlinewidth 40 100 515 600 rectstroke
6 /Courier F 50 80 moveto (small print: ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz) show
showpage
0 1 15 { /i exch def i 15 div setgray 40 i 32 mul add 600 32 150 rectfill } for
1 setlinewidth
newpath 200 350 150 0 360 arc stroke
newpath 200 350 100 0 360 arc stroke
newpath 400 350 moveto 550 120 lineto stroke
0 setgray 40 60 515 30 rectfill
showpage
";

fn faxgate_and_libtiff_agree_on_ghostscript(test_name: &str, device: &str, extra: &[&str]) {
    let scratch = Scratch::new(test_name);
    let source = scratch.path("pages.ps");
    fs::write(&source, POSTSCRIPT).expect("writing to the scratch directory");
    let tiff = scratch.path("gs.tif");
    let mut args = vec![
        "-q".to_owned(),
        "-dNOPAUSE".to_owned(),
        "-dBATCH".to_owned(),
        "-dSAFER".to_owned(),
        format!("-sDEVICE={device}"),
        "-r204x196".to_owned(),
        "-sPAPERSIZE=a4".to_owned(),
        "-dFIXEDMEDIA".to_owned(),
    ];
    args.extend(extra.iter().map(|&a| a.to_owned()));
    args.push(format!("-sOutputFile={}", tiff.display()));
    args.push(source.display().to_string());
    run_tool("gs", &args);

    let context = format!("gs -sDEVICE={device} {}", extra.join(" "));
    let by_libtiff = decode_with_libtiff(&tiff);
    assert_eq!(by_libtiff.len(), 2, "{context}: pages");
    for page in &by_libtiff {
        assert_eq!(page.width, 1728, "{context}: A4 is widened to 1728 pixels");
        assert!(
            page.black_pixels() > 10_000,
            "{context}: the page has content"
        );
    }
    let by_faxgate = decode_with_faxgate(&tiff, &scratch.path("pages"));
    assert_same_pages(
        &format!("{context}: faxgate vs libtiff"),
        &by_libtiff,
        &by_faxgate,
    );
}

#[test]
fn faxgate_and_libtiff_agree_on_ghostscript_tiffg3() {
    faxgate_and_libtiff_agree_on_ghostscript("gs-tiffg3", "tiffg3", &[]);
}

#[test]
fn faxgate_and_libtiff_agree_on_ghostscript_tiffg3_lsb_first_in_strips() {
    faxgate_and_libtiff_agree_on_ghostscript(
        "gs-tiffg3-lsb-strips",
        "tiffg3",
        &["-dFillOrder=2", "-dMaxStripSize=8192"],
    );
}

#[test]
fn faxgate_and_libtiff_agree_on_ghostscript_tiffg32d() {
    faxgate_and_libtiff_agree_on_ghostscript("gs-tiffg32d", "tiffg32d", &["-dFillOrder=2"]);
}

#[test]
fn faxgate_and_libtiff_agree_on_ghostscript_tiffg4() {
    faxgate_and_libtiff_agree_on_ghostscript("gs-tiffg4", "tiffg4", &[]);
}

#[test]
fn faxgate_and_libtiff_agree_on_ghostscript_tiffg4_lsb_first() {
    faxgate_and_libtiff_agree_on_ghostscript("gs-tiffg4-lsb", "tiffg4", &["-dFillOrder=2"]);
}

/// Compression 2, CCITT modified Huffman RLE: MH runs with no EOLs, every row starting on
/// a byte boundary.
#[test]
fn faxgate_and_libtiff_agree_on_ghostscript_tiffcrle() {
    faxgate_and_libtiff_agree_on_ghostscript("gs-tiffcrle", "tiffcrle", &[]);
}

/// The three-page document in testdata/docs, made by Ghostscript's tiffg4 device.
#[test]
fn faxgate_and_libtiff_agree_on_the_committed_ghostscript_document() {
    let scratch = Scratch::new("committed-gs-doc");
    let tiff = repo_path("testdata/docs/sample-3page_gs-tiffg4_204x196_fit1728.tif");
    let by_libtiff = decode_with_libtiff(&tiff);
    assert_eq!(by_libtiff.len(), 3);
    let by_faxgate = decode_with_faxgate(&tiff, &scratch.path("pages"));
    assert_same_pages(
        "sample-3page_gs-tiffg4: faxgate vs libtiff",
        &by_libtiff,
        &by_faxgate,
    );
}
