//! Arbitrary server bytes, in arbitrary pieces, after any command: the engine returns
//! events or an error, and never panics or buffers past its limits.

use mail_pop3::{Client, Limits};
use proptest::prelude::*;

fn limits() -> Limits {
    Limits {
        max_line: 256,
        max_message: 4096,
        max_listing: 64,
        max_capa: 1024,
    }
}

/// Issues command `which` if the state allows it; errors are expected and ignored.
fn command(client: &mut Client, which: u8) {
    let _ = match which % 12 {
        0 => client.capa(),
        1 => client.stls(),
        2 => client.user("fax"),
        3 => client.pass("pw"),
        4 => client.apop("fax", "pw"),
        5 => client.stat(),
        6 => client.list(),
        7 => client.uidl(),
        8 => client.retr(u32::from(which) + 1),
        9 => client.dele(1),
        10 => client.tls_established(),
        _ => client.quit(),
    };
}

fn pop3ish() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::vec(
            prop_oneof![
                Just(b"+OK\r\n".to_vec()),
                Just(b"+OK <1.2@x>\r\n".to_vec()),
                Just(b"-ERR no\r\n".to_vec()),
                Just(b".\r\n".to_vec()),
                Just(b"..\r\n".to_vec()),
                Just(b"1 abc\r\n".to_vec()),
                Just(b"2 300\r\n".to_vec()),
                Just(b"STLS\r\n".to_vec()),
                Just(b"\n".to_vec()),
                proptest::collection::vec(any::<u8>(), 0..20),
            ],
            0..40
        )
        .prop_map(|parts| parts.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]
    #[test]
    fn arbitrary_server_bytes_never_panic(
        steps in proptest::collection::vec((any::<u8>(), pop3ish(), 1usize..64), 1..12)
    ) {
        let mut client = Client::new(limits());
        for (which, bytes, chunk) in steps {
            command(&mut client, which);
            for piece in bytes.chunks(chunk) {
                if client.handle_input(piece).is_err() {
                    break;
                }
            }
            while client.poll_event().is_some() {}
            while client.poll_transmit().is_some() {}
        }
    }
}
