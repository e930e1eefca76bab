//! How the fax-t30 fuzz target reads its input, and what it checks.
//!
//! Shared by the cargo-fuzz target and by the replay test in `crates/fax-t30/tests`
//! (which includes this file by path). Depends on `fax_t30`, `fax_t4` and `std` only.

use std::time::Duration;

use fax_t30::caps::{Capabilities, Settings};
use fax_t30::ecm::PartialPage;
use fax_t30::{Config, Engine, Frame, Input, Output, Role};

/// Outputs an engine may queue in answer to one input; far more means a loop.
const MAX_OUTPUTS_PER_INPUT: usize = 64;

/// `t30_frames` input: a sequence of events, each one selector byte then (for frames and
/// data) a length byte and that many octets. Selector low bits: 0 V.21 frame (good FCS),
/// 1 V.21 frame (bad FCS), 2 ECM frame, 3 data, 4 end of data, 5 transmission done,
/// 6 a second passes, 7 a long time passes. Bit 3 of the first selector picks which
/// engine (sending or receiving) is driven.
///
/// Checks: the frame parsers and field readers never panic; an engine never panics,
/// never queues an unbounded number of outputs, and its time never runs backwards.
pub fn check_t30_frames(input: &[u8]) {
    let Some(&first) = input.first() else {
        return;
    };
    let page = fax_t4::Bitmap::new(64, 16, fax_t4::Resolution::FINE).expect("small page");
    let mut engine = if first & 0x08 != 0 {
        Engine::sender(Config::new(Role::Caller), vec![page])
    } else {
        Engine::receiver(Config::new(Role::Answerer))
    };
    let mut now = Duration::ZERO;
    engine.start(now);
    drain(&mut engine);
    let mut rest = input;
    while let Some((&selector, tail)) = rest.split_first() {
        rest = tail;
        let take = |rest: &mut &[u8]| -> Vec<u8> {
            let Some((&len, tail)) = rest.split_first() else {
                return Vec::new();
            };
            let n = usize::from(len).min(tail.len());
            let (octets, tail) = tail.split_at(n);
            *rest = tail;
            octets.to_vec()
        };
        now += Duration::from_millis(10);
        match selector & 0x07 {
            0 | 1 => {
                let octets = take(&mut rest);
                parse_everything(&octets);
                engine.handle_input(
                    now,
                    Input::Frame {
                        octets: &octets,
                        fcs_ok: selector & 1 == 0,
                    },
                );
            }
            2 => {
                let octets = take(&mut rest);
                engine.handle_input(
                    now,
                    Input::EcmFrame {
                        octets: &octets,
                        fcs_ok: true,
                    },
                );
            }
            3 => {
                let data = take(&mut rest);
                engine.handle_input(now, Input::Data(&data));
            }
            4 => engine.handle_input(now, Input::DataEnd),
            5 => engine.handle_input(now, Input::TxDone),
            6 => {
                now += Duration::from_secs(1);
                engine.handle_timeout(now);
            }
            _ => {
                now += Duration::from_secs(40);
                engine.handle_timeout(now);
            }
        }
        drain(&mut engine);
    }
}

fn parse_everything(octets: &[u8]) {
    if let Ok(frame) = Frame::parse(octets) {
        let again = Frame::parse(&frame.to_octets()).expect("a parsed frame re-parses");
        assert_eq!(again.fcf, frame.fcf);
        let _ = fax_t30::engine::describe(&frame);
    }
    let info = octets.get(3..).unwrap_or(&[]);
    if let Ok(caps) = Capabilities::from_octets(info) {
        let again = Capabilities::from_octets(&caps.to_octets()).expect("own DIS reads back");
        assert_eq!(again, caps);
    }
    if let Ok(settings) = Settings::from_octets(info) {
        let again = Settings::from_octets(&settings.to_octets()).expect("own DCS reads back");
        assert_eq!(again.rate, settings.rate);
        let _ = settings.to_string();
    }
    let _ = PartialPage::from_info(info);
    let _ = fax_t30::ident::decode(info);
}

fn drain(engine: &mut Engine) {
    for _ in 0..MAX_OUTPUTS_PER_INPUT {
        if let Output::Wait(_) = engine.poll_output() {
            return;
        }
    }
    panic!("engine queued more than {MAX_OUTPUTS_PER_INPUT} outputs for one input");
}

/// Seed: a receiver hearing a sender's DCS, TCF, a tiny page and EOP.
pub fn receiver_seed() -> Vec<u8> {
    let mut seed = vec![0x05]; // receiver; CED done
    seed.push(0x05); // DIS burst done
    let mut caps = Capabilities::faxgate();
    caps.ecm = false;
    caps.mmr = false;
    let settings = fax_t30::caps::choose_settings(
        &fax_t30::caps::SendPreferences {
            local: caps,
            resolution: fax_t30::VerticalResolution::Fine,
            width: fax_t30::caps::PageWidth::A4,
        },
        &caps,
        0,
    )
    .expect("common settings");
    let mut dcs = Frame::new(fax_t30::Fcf::Dcs, settings.to_octets());
    dcs.x_bit = true;
    push_frame(&mut seed, &dcs.to_octets());
    seed.extend([0x03, 200]);
    seed.extend([0u8; 200]);
    seed.push(0x04);
    let mut eop = Frame::bare(fax_t30::Fcf::Eop);
    eop.x_bit = true;
    push_frame(&mut seed, &eop.to_octets());
    seed
}

fn push_frame(seed: &mut Vec<u8>, octets: &[u8]) {
    seed.push(0x00);
    seed.push(octets.len() as u8);
    seed.extend_from_slice(octets);
}
