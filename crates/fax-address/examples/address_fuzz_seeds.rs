//! Writes the seed inputs of the `address_parse` fuzz target under the directory given
//! (the fuzz corpus root, default `fuzz/corpus`): the subjects of the addressing
//! specification, good and bad, and the spellings senders use (full-width forms, `+`,
//! trunk prefix, extra `;`), each under the settings that make it interesting.

use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "../../../fuzz/src/address.rs"]
mod fuzz_address;

/// Name, settings selector (see `fuzz/src/address.rs`), subject.
const SEEDS: &[(&str, u8, &str)] = &[
    (
        "spec-country-area-number-name",
        0,
        "86-755-83235170/金恒科技",
    ),
    (
        "spec-two-recipients",
        0,
        "86-755-83235170/金恒科技; 86-755-83235180/傲发科技",
    ),
    (
        "spec-three-areas",
        0,
        "10-666666/张三;20-777777/李四;86-755-888888/王五",
    ),
    ("spec-no-area", 0, "852-0-999999"),
    ("spec-extension", 0, "0-0-123"),
    (
        "spec-number-fax-id-names",
        0,
        "86-755-83235170|AF90000098/金恒科技|张三",
    ),
    (
        "spec-space-before-slash",
        0,
        "86-755-83235170 /金恒科技|张三",
    ),
    ("spec-fax-id-alone", 0, "AF90000098/金恒科技"),
    ("spec-area-in-number", 0, "075583235170"),
    ("spec-letter-in-number", 0, "755-8323A170"),
    ("spec-empty-number", 0, "86-755-/x"),
    ("spec-bad-fax-id", 0, "83235170|AF9000009"),
    (
        "full-width",
        0,
        "８６－７５５－８３２３５１７０｜ａｆ９０００００９８／金恒科技｜张三；；",
    ),
    ("plus-and-trunk", 0, "+86-0755-83235170; 0086-10-666666 ;"),
    (
        "separators-out-of-place",
        0,
        "83235170/a/b; 1|AF90000098|AF90000099; 2/a|b|c",
    ),
    (
        "pbx-extension-and-fax-id",
        1,
        "0-0-1234; fx123456/Office|Desk; 83235170",
    ),
    ("pbx-too-many", 1, "1;2;3;4;5;6"),
    ("hong-kong", 2, "99999999; 86-755-83235170; 852-0-12345678"),
    (
        "north-america",
        3,
        "5550123; 1-212-5550123; 44-20-79460000; 1-900-5550123",
    ),
];

fn main() {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    let dir: &Path = &root.join("address_parse");
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for (name, selector, subject) in SEEDS {
        let input = fuzz_address::seed(*selector, subject);
        fuzz_address::check_address_parse(&input);
        let path = dir.join(name);
        std::fs::write(&path, input).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    println!("{} seeds in {}", SEEDS.len(), dir.display());
}
