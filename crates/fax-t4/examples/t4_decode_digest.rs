//! Prints a digest of what the decoder makes of intact and damaged pages, one line per
//! case, so that two builds of the decoder can be compared output for output:
//!
//! ```text
//! t4_decode_digest [--cases N] PAGE.pbm... > digests.txt
//! ```
//!
//! Damage is seeded and deterministic: bit flips, cleared runs of bits, truncation and
//! inserted bytes, on data with and without EOLs.

use fax_t4::{DecodeOptions, EncodeOptions, KFactor, Resolution, Scheme};

/// Small deterministic generator so the tool needs no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn damage(rng: &mut Rng, coded: &[u8], case: usize) -> Vec<u8> {
    let mut data = coded.to_vec();
    if data.is_empty() {
        return data;
    }
    match case % 5 {
        0 => {
            for _ in 0..1 + rng.below(8) {
                let bit = rng.below(data.len() * 8);
                data[bit / 8] ^= 0x80 >> (bit % 8);
            }
        }
        1 => {
            // Cleared bits can forge EOLs and RTC.
            let start = rng.below(data.len() * 8);
            for bit in start..(start + 1 + rng.below(40)).min(data.len() * 8) {
                data[bit / 8] &= !(0x80 >> (bit % 8));
            }
        }
        2 => {
            let keep = rng.below(data.len());
            data.truncate(keep);
        }
        3 => {
            let at = rng.below(data.len());
            let bytes: Vec<u8> = (0..1 + rng.below(6)).map(|_| rng.next() as u8).collect();
            data.splice(at..at, bytes);
        }
        _ => {
            // Many scattered flips.
            for _ in 0..50 {
                let bit = rng.below(data.len() * 8);
                data[bit / 8] ^= 0x80 >> (bit % 8);
            }
        }
    }
    data
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut cases = 20usize;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--cases" => cases = args.next().ok_or("--cases needs a value")?.parse()?,
            _ => files.push(arg),
        }
    }
    let schemes = [
        ("mh", Scheme::Mh, true),
        ("mh-aligned", Scheme::Mh, false),
        ("mr", Scheme::Mr { k: KFactor::K4 }, true),
        ("mmr", Scheme::Mmr, true),
    ];
    for file in &files {
        let data = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
        let page =
            fax_t4::pbm::read(&data, Resolution::FINE).map_err(|e| format!("{file}: {e}"))?;
        for (name, scheme, eol) in schemes {
            let mut options = EncodeOptions::tiff(scheme);
            options.eol = eol;
            let coded = fax_t4::encode(&page, &options);
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ fnv1a64(name.as_bytes()));
            for case in 0..=cases {
                let input = if case == 0 {
                    coded.clone()
                } else {
                    damage(&mut rng, &coded, case)
                };
                for rows in [Some(page.height()), None] {
                    let mut decode_options = DecodeOptions::new(scheme, page.width());
                    decode_options.eol = eol;
                    decode_options.rows = rows;
                    let line = match fax_t4::decode(&input, &decode_options) {
                        Ok(d) => format!(
                            "ok {} {:016x} bad {} run {} end {:?}",
                            d.bitmap.height(),
                            fnv1a64(d.bitmap.packed()),
                            d.bad_rows,
                            d.longest_bad_run,
                            d.end
                        ),
                        Err(e) => format!("err {e}"),
                    };
                    println!("{file} {name} case {case} rows {rows:?}: {line}");
                }
            }
        }
    }
    Ok(())
}
