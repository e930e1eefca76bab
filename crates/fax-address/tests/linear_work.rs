//! The parser's work grows linearly with the subject: long and hostile subjects (one huge
//! name, thousands of separators, spaces, dashes, many short entries) stay within
//! `Work::within_bound`, and doubling a subject at most doubles the work. Work is counted
//! by the parser, never timed.

use fax_address::{AddressConfig, AddressSettings, Work};

fn settings() -> AddressSettings {
    let mut config = AddressConfig::default();
    config.max_recipients = 1_000_000;
    AddressSettings::new(&config).expect("valid")
}

fn work(subject: &str) -> Work {
    settings().parse_with_work(subject).1
}

fn shapes(n: usize) -> Vec<(&'static str, String)> {
    vec![
        ("one long name", format!("83235170/{}", "金".repeat(n))),
        (
            "many entries",
            vec!["83235170|AF90000098/金恒科技|张三"; n].join(";"),
        ),
        ("semicolons", "；".repeat(n)),
        ("spaces", format!("{}83235170", " ".repeat(n))),
        ("dashes", "-".repeat(n)),
        ("bars", "|".repeat(n)),
        ("slashes", format!("1{}", "/".repeat(n))),
        ("digits", "8".repeat(n)),
        (
            "full width",
            "８６－７５５－８３２３５１７０／金恒科技；".repeat(n),
        ),
        ("plus and trunk", "+0086-0755-".repeat(n)),
    ]
}

#[test]
fn hostile_subjects_stay_within_the_bound() {
    for (shape, subject) in shapes(20_000) {
        let work = work(&subject);
        assert!(
            work.within_bound(subject.len()),
            "{shape}: {work:?} for {} bytes",
            subject.len()
        );
    }
}

#[test]
fn doubling_a_subject_at_most_doubles_the_work() {
    for ((shape, once), (_, twice)) in shapes(5_000).into_iter().zip(shapes(10_000)) {
        let (once, twice) = (work(&once).steps, work(&twice).steps);
        assert!(twice <= 2 * once + 64, "{shape}: {once} then {twice} steps");
    }
}
