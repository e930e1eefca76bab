-- Mail the gateway sends: receipts to senders, queued in the same transaction as the
-- change that calls for them (a message taken in with a problem the sender can fix, a
-- request whose every delivery is final) and sent later, with retries, by the mail
-- sender. A crash between queuing and sending loses nothing; a request is marked
-- receipted in the transaction that queues its receipt, so it gets exactly one.

CREATE TABLE outgoing_mail (
    id {id},
    kind TEXT NOT NULL,
    request_id BIGINT REFERENCES requests (id) ON DELETE SET NULL,
    intake_id BIGINT REFERENCES mail_intake (id) ON DELETE SET NULL,
    rcpt_to TEXT NOT NULL,
    message TEXT NOT NULL,
    state TEXT NOT NULL,
    tries BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX outgoing_mail_due ON outgoing_mail (state, next_attempt_at);

ALTER TABLE requests ADD COLUMN receipted_at BIGINT;
