//! Random and mutated messages: every one gets a verdict, none panics. A fixed seed keeps
//! the run reproducible; the fuzz target `mail_parse` explores further.

use fax_address::AddressSettings;
use mail_message::{Envelope, Intake, IntakeConfig, NoUsers, SenderAccount, SenderDirectory};

struct Everyone;

impl SenderDirectory for Everyone {
    fn find(&self, _: &str) -> Option<SenderAccount> {
        Some(SenderAccount {
            email_to_fax: true,
            max_kind: fax_address::Kind::International,
            language: None,
            has_pin: false,
        })
    }
    fn pin_matches(&self, _: &str, _: &str) -> bool {
        true
    }
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&[u8]] = &[
    b"=?",
    b"?=",
    b"?B?",
    b"?Q?",
    b"=?GBK?B?",
    b"\r\n ",
    b"\r\n\r\n",
    b"--",
    b"boundary=",
    b"Content-Type: multipart/mixed; boundary=x\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"filename*0*=",
    b"''%E5",
    b";",
    b"\"",
    b"cid:",
    b"<",
    b">",
    b"\x00",
    b"\xff\xfe",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..=rng.below(8) {
        let at = rng.below(data.len() + 1);
        match rng.below(4) {
            0 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                data.splice(at..at, token.iter().copied());
            }
            1 => {
                let end = (at + rng.below(64)).min(data.len());
                data.drain(at..end);
            }
            2 => {
                if let Some(byte) = data.get_mut(at) {
                    *byte = rng.next() as u8;
                }
            }
            _ => {
                // Duplicate a slice: nested structures, repeated headers.
                let end = (at + rng.below(200)).min(data.len());
                let copy = data[at..end].to_vec();
                let to = rng.below(data.len() + 1);
                data.splice(to..to, copy);
            }
        }
    }
    data
}

#[test]
fn mutated_corpus_messages_never_panic() {
    let dir = format!("{}/tests/messages", env!("CARGO_MANIFEST_DIR"));
    let mut seeds = Vec::new();
    for entry in std::fs::read_dir(dir).expect("corpus") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) == Some("eml") {
            seeds.push(std::fs::read(path).expect("read"));
        }
    }
    let mut config = IntakeConfig::default();
    config.fax_domain = Some("fax.example.com".to_owned());
    let intake = Intake::new(config, AddressSettings::default()).expect("valid");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..3000 {
        let seed = &seeds[round % seeds.len()];
        let data = mutate(&mut rng, seed);
        let request = intake.examine(&data, &Envelope::default(), &Everyone);
        // The receipt composer takes whatever the intake produced.
        let headers = mail_message::receipt::ReceiptHeaders {
            from: "fax@example.com".to_owned(),
            to: request.sender.clone().unwrap_or_default(),
            message_id: "r@example.com".to_owned(),
            date: "Sat, 28 Nov 2026 10:00:00 +0800".to_owned(),
        };
        let _ = mail_message::receipt::problem_receipt(&request, &headers);
    }
}

#[test]
fn random_bytes_never_panic() {
    let intake = Intake::new(IntakeConfig::default(), AddressSettings::default()).expect("valid");
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let length = rng.below(600);
        let data: Vec<u8> = (0..length).map(|_| rng.next() as u8).collect();
        let _ = intake.examine(&data, &Envelope::default(), &NoUsers);
        let _ = mail_message::decode_header_text(&data);
    }
}

#[test]
fn deeply_nested_multiparts_are_bounded() {
    let mut message = String::from("From: a@example.com\r\nSubject: 755-83235170\r\n");
    for depth in 0..500 {
        message.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{depth}\"\r\n\r\n--b{depth}\r\n"
        ));
    }
    message.push_str("Content-Type: application/pdf\r\n\r\n%PDF-1.4\r\n");
    let intake = Intake::new(IntakeConfig::default(), AddressSettings::default()).expect("valid");
    let _ = intake.examine(message.as_bytes(), &Envelope::default(), &Everyone);
}
