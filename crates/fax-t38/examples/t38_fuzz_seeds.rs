//! Writes the seed inputs of the fax-t38 fuzz targets under the directory given (the
//! fuzz corpus root): `ifp_decode/` and `udptl_receive/`.
//!
//! The IFP packets are ones SpanDSP's T.38 core (0.0.6) sends; the datagrams are built
//! from them by our sender, with redundancy and with parity FEC.

use std::path::{Path, PathBuf};

use fax_t38::ifp::Version;
use fax_t38::{ErrorRecovery, SenderConfig, UdptlSender};

#[allow(dead_code)]
#[path = "../../../fuzz/src/t38.rs"]
mod fuzz_t38;

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .filter_map(|i| text.get(i..i + 2))
        .filter_map(|pair| u8::from_str_radix(pair, 16).ok())
        .collect()
}

/// Packets as SpanDSP encodes them, with the version they were sent in.
fn spandsp_packets() -> Vec<(&'static str, Version, Vec<u8>)> {
    let mut t4 = hex("d001b0012b");
    t4.extend((0..300u32).map(|i| i as u8));
    vec![
        ("cng-v0", Version::V0, hex("02")),
        ("ced-v0", Version::V0, hex("04")),
        ("v21-preamble-v0", Version::V0, hex("06")),
        ("v17-14400-long-training-v2", Version::V2, hex("1e")),
        ("v8-ansam-v3", Version::V3, hex("2000")),
        ("v33-14400-training-v3", Version::V3, hex("2180")),
        ("hdlc-data-fcs-ok-v0", Version::V0, hex("c002800001000120")),
        ("hdlc-data-fcs-ok-v2", Version::V2, hex("c002800001000110")),
        ("hdlc-fcs-ok-sig-end-v1", Version::V1, hex("c00120")),
        ("t4-non-ecm-sig-end-v0", Version::V0, hex("c00170")),
        ("cm-message-v3", Version::V3, hex("c001c0000002000102")),
        ("t4-non-ecm-data-300-v1", Version::V1, t4),
        // PER packs field headers without data; SpanDSP reads these but does not send them.
        ("fcs-ok-sig-end-packed-v0", Version::V0, hex("c00221")),
        ("fcs-ok-sig-end-packed-v2", Version::V2, hex("c0021040")),
    ]
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn datagrams(recovery: ErrorRecovery, packets: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut sender = UdptlSender::new(SenderConfig {
        error_recovery: recovery,
        max_datagram: 400,
        first_seq: 0,
    })
    .expect("valid configuration");
    packets
        .iter()
        .map(|p| sender.packetize(p).expect("fits"))
        .collect()
}

fn main() {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    let packets = spandsp_packets();
    for (name, version, bytes) in &packets {
        write(
            &root.join("ifp_decode"),
            name,
            &fuzz_t38::ifp_seed(*version, bytes),
        );
    }

    // A V.21 exchange as version 0 sends it: preamble, a frame, then the carrier off.
    let call: Vec<Vec<u8>> = [
        "06",
        "c002800001000120",
        "c00120",
        "00",
        "04",
        "06",
        "c00140",
    ]
    .iter()
    .map(|h| hex(h))
    .collect();
    let udptl = root.join("udptl_receive");
    for (name, recovery) in [
        ("redundancy-3", ErrorRecovery::Redundancy { depth: 3 }),
        (
            "fec-2x2",
            ErrorRecovery::Fec {
                span: 2,
                entries: 2,
            },
        ),
    ] {
        let mut sent = datagrams(recovery, &call);
        write(
            &udptl,
            &format!("raw-{name}"),
            &fuzz_t38::raw_datagrams_seed(0x20, &sent),
        );
        // The second and fifth lost, the third and fourth swapped, the last twice.
        sent.remove(4);
        sent.remove(1);
        sent.swap(1, 2);
        if let Some(last) = sent.last().cloned() {
            sent.push(last);
        }
        write(
            &udptl,
            &format!("raw-{name}-lossy"),
            &fuzz_t38::raw_datagrams_seed(0x20, &sent),
        );
    }

    // Lossy-link mode: recovery byte, maximum, version, then (fate, packet) pairs.
    for (name, recovery) in [("link-redundancy-2", 0x02u8), ("link-fec-2x2", 0x85)] {
        let mut input = vec![0x01, recovery, 60, 0x00];
        for (i, fate) in [0x10u8, 0x11, 0x10, 0x14, 0x10, 0x12, 0x11, 0x10]
            .iter()
            .enumerate()
        {
            input.push(*fate);
            // Alternate an indicator and a V.21 frame with a good FCS.
            if i % 2 == 0 {
                input.push(0x03);
            } else {
                input.extend_from_slice(&[0x82, 0x00, 0x03, 0xFF, 0x13, 0x80, 0x02, 0x00]);
            }
        }
        write(&udptl, name, &input);
    }
}
