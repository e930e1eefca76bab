//! CPU time of a fax call per page: two T.38 terminals (our sender and receiver, both
//! ends' work) exchanging a 10-page ECM fax over a simulated path on virtual time, and
//! for comparison the image codec alone on the same pages (MMR encode at the sender,
//! decode at the receiver). Their difference is what the T.30 and T.38 engines cost.
//!
//!   cargo run --release -p fax-t38 --example call_cpu [-- REPEATS]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use fax_t4::{Bitmap, DecodeOptions, EncodeOptions, Resolution, Scheme};
use fax_t30::{Config, Engine, Role, Status};
use fax_t38::terminal::{Terminal, TerminalConfig};

fn chart(n: usize) -> Bitmap {
    let path = format!(
        "{}/../../testdata/ccitt/ccitt{n}.pbm",
        env!("CARGO_MANIFEST_DIR")
    );
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    fax_t4::pbm::read(&data, Resolution::FINE).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn main() {
    let repeats: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let pages: Vec<Bitmap> = (0..10).map(|i| chart(1 + i % 8)).collect();
    let page_count = pages.len() as f64 * f64::from(repeats);

    let mut best_call = f64::MAX;
    let mut virtual_time = 0.0;
    for _ in 0..repeats {
        let terminals = [
            Terminal::new(
                Engine::sender(Config::new(Role::Caller), pages.clone()),
                TerminalConfig::default(),
            )
            .expect("config"),
            Terminal::new(
                Engine::receiver(Config::new(Role::Answerer)),
                TerminalConfig::default(),
            )
            .expect("config"),
        ];
        let started = Instant::now();
        let call = support::run(terminals, support::Path::default(), 1);
        best_call = best_call.min(started.elapsed().as_secs_f64());
        virtual_time = call.virtual_time.as_secs_f64();
        assert_eq!(
            call.outcomes[0].as_ref().map(|o| o.status),
            Some(Status::Ok)
        );
    }

    let mut best_codec = f64::MAX;
    for _ in 0..repeats {
        let started = Instant::now();
        for page in &pages {
            let coded = fax_t4::encode(page, &EncodeOptions::tiff(Scheme::Mmr));
            let mut options = DecodeOptions::new(Scheme::Mmr, page.width());
            options.rows = None;
            std::hint::black_box(fax_t4::decode(&coded, &options).expect("decodes"));
        }
        best_codec = best_codec.min(started.elapsed().as_secs_f64());
    }
    let per_page = |total: f64| total * 1e3 / pages.len() as f64;
    println!(
        "10-page ECM MMR call (both ends), best of {repeats}: {:.3} ms per page; \
         codec alone {:.3} ms per page; T.30 + T.38 engines {:.3} ms per page \
         ({virtual_time:.0} s of line time, {page_count:.0} pages run)",
        per_page(best_call),
        per_page(best_codec),
        per_page(best_call - best_codec),
    );
}
