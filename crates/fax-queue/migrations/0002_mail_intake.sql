-- The mail intake ledger: one row per message taken in from a mailbox, written in the
-- same transaction that records what became of it, after its raw bytes are stored as a
-- blob and before the message is deleted on the server. A poll that died before the
-- deletion finds the message here by (mailbox, uidl); a message that comes back under
-- another unique ID is found by its Message-ID and the SHA-256 of its bytes.

CREATE TABLE mail_intake (
    id {id},
    mailbox TEXT NOT NULL,
    uidl TEXT NOT NULL,
    message_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    raw_blob TEXT NOT NULL,
    size BIGINT NOT NULL,
    verdict TEXT NOT NULL,
    duplicate_of BIGINT REFERENCES mail_intake (id),
    request_id BIGINT REFERENCES requests (id) ON DELETE SET NULL,
    taken_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX mail_intake_uidl ON mail_intake (mailbox, uidl);
CREATE INDEX mail_intake_content ON mail_intake (message_id, digest);
