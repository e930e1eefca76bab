//! `faxgate address parse` run as a user would: exact JSON on stdout and exit codes, with
//! the built-in settings, the example configuration and configurations of its own.

mod common;

use std::fs;
use std::path::PathBuf;

use common::cli::faxgate;
use common::pages::repo_path as repo;

/// Runs `faxgate address parse ARGS...`; the exit code and stdout (one line).
fn parse(args: &[&str]) -> (i32, String) {
    let mut all = vec!["address", "parse"];
    all.extend_from_slice(args);
    let output = faxgate(&all);
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 stdout");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let code = output.status.code().expect("exit code");
    assert!(
        stdout.ends_with('\n') && stdout.lines().count() == 1,
        "{all:?}: one JSON line expected, got {stdout:?} (stderr {stderr})"
    );
    (code, stdout.trim_end().to_owned())
}

/// A configuration file of its own for one test, removed afterwards.
struct ConfigFile(PathBuf);

impl ConfigFile {
    fn new(name: &str, text: &str) -> ConfigFile {
        let path = std::env::temp_dir().join(format!(
            "faxgate-address-cli-{}-{name}.toml",
            std::process::id()
        ));
        fs::write(&path, text).expect("writing a configuration");
        ConfigFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("UTF-8 temporary path")
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

const JINHENG: &str = r#"{"country":"86","area":"755","number":"83235170","fax_id":null,"name1":"金恒科技","name2":null,"kind":"local","dial":"83235170","e164":"+8675583235170"}"#;

#[test]
fn specification_example_prints_the_recipient_and_exits_0() {
    let expected = format!(r#"{{"recipients":[{JINHENG}]}}"#);
    for subject in [
        "86-755-83235170/金恒科技",
        "755-83235170/金恒科技",
        "83235170/金恒科技",
        "８６－７５５－８３２３５１７０／金恒科技；",
    ] {
        assert_eq!(parse(&[subject]), (0, expected.clone()), "{subject}");
    }
}

#[test]
fn every_kind_with_absent_fields_as_null() {
    let (code, json) = parse(&[
        "--max-kind",
        "international",
        "852-0-999999; 0-0-123; AF90000098/金恒科技; 10-666666|af90000098/傲发科技|张三",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        json,
        concat!(
            r#"{"recipients":["#,
            r#"{"country":"852","area":null,"number":"999999","fax_id":null,"name1":null,"name2":null,"kind":"international","dial":"00852999999","e164":"+852999999"},"#,
            r#"{"country":null,"area":null,"number":"123","fax_id":null,"name1":null,"name2":null,"kind":"internal","dial":"123","e164":null},"#,
            r#"{"country":null,"area":null,"number":null,"fax_id":"AF90000098","name1":"金恒科技","name2":null,"kind":"fax-id","dial":null,"e164":null},"#,
            r#"{"country":"86","area":"10","number":"666666","fax_id":"AF90000098","name1":"傲发科技","name2":"张三","kind":"national","dial":"010666666","e164":"+8610666666"}"#,
            r#"]}"#
        )
    );
}

#[test]
fn duplicate_destination_is_listed_once() {
    let (code, json) = parse(&["83235170/金恒科技; 86-755-83235170/Other; 0755-83235170"]);
    assert_eq!(
        (code, json),
        (0, format!(r#"{{"recipients":[{JINHENG}]}}"#))
    );
}

#[test]
fn area_code_written_into_the_number_exits_1_with_the_hint() {
    assert_eq!(
        parse(&["075583235170"]),
        (
            1,
            r#"{"error":"write the area code and number separately: 755-83235170","recipient_index":0,"input":"075583235170"}"#.to_owned()
        )
    );
}

#[test]
fn first_bad_recipient_is_named_with_its_index() {
    assert_eq!(
        parse(&["83235170/金恒科技; 755-8323A170; 86-755-/x"]),
        (
            1,
            r#"{"error":"the fax number may contain only digits, not \"A\"","recipient_index":1,"input":"755-8323A170"}"#.to_owned()
        )
    );
    assert_eq!(
        parse(&["83235170;;86-755-/x"]),
        (
            1,
            r#"{"error":"the fax number is missing","recipient_index":1,"input":"86-755-/x"}"#
                .to_owned()
        )
    );
}

#[test]
fn empty_subject_exits_1() {
    let message = "the subject names no recipient: write the fax number in the subject, for \
                   example 755-83235170/Company";
    // No recipient to name: the subject as written stands for recipient 0.
    assert_eq!(
        parse(&[""]),
        (
            1,
            format!(r#"{{"error":"{message}","recipient_index":0,"input":""}}"#)
        )
    );
    assert_eq!(
        parse(&[" ; "]),
        (
            1,
            format!(r#"{{"error":"{message}","recipient_index":0,"input":";"}}"#)
        )
    );
}

#[test]
fn wrong_fax_id_exits_1() {
    assert_eq!(
        parse(&["86-755-83235170|AF9000009/金恒科技"]),
        (
            1,
            r#"{"error":"\"AF9000009\" is not a fax ID: a fax ID is AF followed by 8 digits, like AF12345678","recipient_index":0,"input":"86-755-83235170|AF9000009/金恒科技"}"#.to_owned()
        )
    );
}

#[test]
fn too_many_recipients_names_the_first_over_the_maximum() {
    let subject = format!("{};10-666666", vec!["83235170"; 100].join(";"));
    assert_eq!(
        parse(&[&subject]),
        (
            1,
            r#"{"error":"too many recipients: one mail may name at most 100","recipient_index":100,"input":"10-666666"}"#.to_owned()
        )
    );
}

#[test]
fn a_sender_limited_to_national_calls_is_refused_an_international_number() {
    assert_eq!(
        parse(&["--max-kind", "national", "852-0-999999"]),
        (
            1,
            r#"{"error":"faxes to international numbers are not allowed for you: you may send to national numbers at most","recipient_index":0,"input":"852-0-999999"}"#.to_owned()
        )
    );
    // Without a sender's limit every valid subject parses.
    assert_eq!(parse(&["852-0-999999"]).0, 0);
}

#[test]
fn local_only_sender_is_refused_a_national_number() {
    assert_eq!(
        parse(&["--max-kind", "local", "83235170; 10-666666/张三"]),
        (
            1,
            r#"{"error":"faxes to national numbers are not allowed for you: you may send to local numbers at most","recipient_index":1,"input":"10-666666/张三"}"#.to_owned()
        )
    );
}

#[test]
fn example_config_loads_and_gives_the_built_in_results() {
    let example = repo("config/faxgate.example.toml");
    let example = example.to_str().expect("UTF-8 path");
    let subject = "86-755-83235170/金恒科技";
    assert_eq!(parse(&["--config", example, subject]), parse(&[subject]));
    assert_eq!(
        parse(&[
            "--config",
            example,
            "--max-kind",
            "national",
            "852-0-999999"
        ])
        .0,
        1
    );
}

#[test]
fn configured_dial_plan_and_policy() {
    let config = ConfigFile::new(
        "pbx",
        r#"
[address]
max_recipients = 3

[address.dial_plan]
country_code = "852"
area_code = "0"
international_prefix = "001"
trunk_prefix = ""
outside_line_prefix = "9"

[address.fax_id]
prefix = "fx"
digits = 6

[address.policy]
default_max_kind = "international"
deny_prefixes = ["+881"]
on_bad_recipient = "send-to-valid"
"#,
    );
    assert_eq!(
        parse(&["--config", config.path(), "99999999; 881-0-6312345; FX123456"]),
        (
            0,
            concat!(
                r#"{"recipients":["#,
                r#"{"country":"852","area":null,"number":"99999999","fax_id":null,"name1":null,"name2":null,"kind":"local","dial":"999999999","e164":"+85299999999"},"#,
                r#"{"country":null,"area":null,"number":null,"fax_id":"FX123456","name1":null,"name2":null,"kind":"fax-id","dial":null,"e164":null}"#,
                r#"],"refused":[{"error":"faxes to numbers starting with +881 are blocked by the administrator","recipient_index":1,"input":"881-0-6312345"}]}"#
            )
            .to_owned()
        )
    );
    assert_eq!(
        parse(&["--config", config.path(), "1;2;3;4"]),
        (
            1,
            r#"{"error":"too many recipients: one mail may name at most 3","recipient_index":3,"input":"4"}"#.to_owned()
        )
    );
}

#[test]
fn bad_configuration_is_an_error_on_stderr() {
    let misspelt = ConfigFile::new("misspelt", "[address.dial_plan]\ncountry = \"86\"\n");
    let output = faxgate(&["address", "parse", "--config", misspelt.path(), "83235170"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown field `country`"), "{stderr}");

    let invalid = ConfigFile::new("invalid", "[address.dial_plan]\ncountry_code = \"086\"\n");
    let output = faxgate(&["address", "parse", "--config", invalid.path(), "83235170"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "[address]: invalid setting dial_plan.country_code = \"086\": 1 to 3 digits, not \
             starting with 0"
        ),
        "{stderr}"
    );

    let output = faxgate(&[
        "address",
        "parse",
        "--config",
        "/nonexistent/faxgate.toml",
        "1",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/faxgate.toml"));
}
