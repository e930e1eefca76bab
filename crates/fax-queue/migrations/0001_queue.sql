-- The job store. This one file is the schema of both backends: it is written in the
-- SQL that SQLite and PostgreSQL share, and "{id}" stands for the one thing they spell
-- differently, an auto-numbered primary key. Times are milliseconds since the Unix
-- epoch (BIGINT), flags are 0/1 (BIGINT), so both read back the same. Text primary
-- keys say NOT NULL: SQLite would otherwise allow NULL in them.

CREATE TABLE users (
    id {id},
    display_name TEXT NOT NULL,
    permissions BIGINT NOT NULL,
    max_destination TEXT NOT NULL,
    fax_id TEXT UNIQUE,
    locale TEXT NOT NULL,
    pin_hash TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE user_emails (
    email TEXT NOT NULL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position BIGINT NOT NULL
);
CREATE INDEX user_emails_user ON user_emails (user_id);

CREATE TABLE requests (
    id {id},
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    source TEXT NOT NULL,
    sender TEXT NOT NULL,
    subject TEXT NOT NULL,
    raw_mail_blob TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX requests_user ON requests (user_id);

CREATE TABLE request_documents (
    request_id BIGINT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    blob TEXT NOT NULL,
    PRIMARY KEY (request_id, position)
);

CREATE TABLE deliveries (
    id {id},
    request_id BIGINT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    destination TEXT NOT NULL,
    state TEXT NOT NULL,
    priority BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    dials BIGINT NOT NULL,
    tries BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    resume_page BIGINT NOT NULL,
    total_pages BIGINT,
    window_start BIGINT NOT NULL,
    result TEXT,
    result_code BIGINT,
    finished_at BIGINT,
    lease_owner TEXT,
    lease_until BIGINT,
    cancel_requested BIGINT NOT NULL
);
-- The claim query: due queued deliveries, best first.
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_request ON deliveries (request_id);

CREATE TABLE attempts (
    id {id},
    delivery_id BIGINT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    line TEXT NOT NULL,
    worker TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at BIGINT,
    pages_sent BIGINT,
    pages_total BIGINT,
    bit_rate BIGINT,
    ecm BIGINT,
    remote_ident TEXT,
    t30_code BIGINT,
    outcome TEXT,
    reason TEXT
);
CREATE INDEX attempts_delivery ON attempts (delivery_id);

-- One row per line: claims for a line lock its row, so its channel limit holds across
-- nodes.
CREATE TABLE lines (
    name TEXT NOT NULL PRIMARY KEY,
    last_claim_at BIGINT NOT NULL
);

CREATE TABLE inbox (
    id {id},
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    delivery_id BIGINT REFERENCES deliveries (id) ON DELETE SET NULL,
    sender TEXT NOT NULL,
    tiff_blob TEXT NOT NULL,
    pages BIGINT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX inbox_user ON inbox (user_id);

CREATE TABLE audit_log (
    id {id},
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
