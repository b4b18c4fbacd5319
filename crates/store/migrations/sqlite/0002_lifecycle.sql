-- scepd store, schema 2 (SQLite): manual approval, revocation, CRL state, delivery tracking.
-- Keep in step with ../postgres/0002_lifecycle.sql.

-- Requests a template sent to manual approval (RFC 8894 §3.3.2 PENDING). A row moves
-- pending -> approved -> issued, or pending -> denied (approved -> denied only when the CA
-- refuses an approved request). The challenge, if any, is consumed when the row is written:
-- a request accepted for review has used its challenge, so the challenge cannot be replayed
-- by another request while an officer decides, and a denied device needs a new one.
-- A transactionID still belongs to one signer key across this table and `transactions`.
CREATE TABLE pending_requests (
    id                        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    transaction_id            TEXT    NOT NULL,
    signer_key_sha256         TEXT    NOT NULL,           -- hex SHA-256 of the signer's SPKI DER
    request_sha256            TEXT    NOT NULL,           -- hex SHA-256 of the PKCS#10 DER
    csr_der                   BLOB    NOT NULL,
    template                  TEXT    NOT NULL,
    subject                   TEXT    NOT NULL,           -- requested subject, RFC 4514 text
    challenge_hash            TEXT    REFERENCES challenges (hash),
    requester_certificate_der BLOB    NOT NULL,           -- the SCEP signer: the reply is encrypted to it
    created_at                INTEGER NOT NULL,
    state                     TEXT    NOT NULL
        CHECK (state IN ('pending', 'approved', 'denied', 'issued')),
    decided_by                TEXT,                       -- approver, or who denied it
    decided_at                INTEGER,
    reason                    TEXT,                       -- why it was denied
    serial                    TEXT    UNIQUE REFERENCES certificates (serial),
    issued_at                 INTEGER,
    UNIQUE (transaction_id, request_sha256),
    CHECK ((state = 'pending') = (decided_by IS NULL)),
    CHECK ((state = 'issued') = (serial IS NOT NULL))
);

CREATE INDEX pending_requests_state ON pending_requests (state, id);

CREATE TABLE pending_request_sans (
    request_id INTEGER NOT NULL REFERENCES pending_requests (id),
    position   INTEGER NOT NULL,
    san        TEXT    NOT NULL,                          -- e.g. "dns:device1.example"
    PRIMARY KEY (request_id, position)
);

-- One row per revoked certificate; the primary key makes a second revocation fail instead of
-- overwriting the first. Never deleted (the CRL logic counts on it, see crl_state).
CREATE TABLE revocations (
    serial     TEXT    NOT NULL PRIMARY KEY REFERENCES certificates (serial),
    revoked_at INTEGER NOT NULL,
    reason     TEXT    NOT NULL,                          -- RFC 5280 CRLReason name
    revoked_by TEXT    NOT NULL
);

-- The single row of CRL bookkeeping. last_number is the CRL number allocator (RFC 5280
-- §5.2.3, monotonic); revocation_count is bumped by every revocation in the same transaction,
-- so "a newer CRL is needed" is revocation_count > covered_revocations, without time races.
CREATE TABLE crl_state (
    id                  INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    last_number         INTEGER NOT NULL,
    revocation_count    INTEGER NOT NULL,
    published_number    INTEGER,                          -- the newest CRL recorded, if any
    this_update         INTEGER,
    next_update         INTEGER,
    covered_revocations INTEGER,
    der                 BLOB
);

INSERT INTO crl_state (id, last_number, revocation_count) VALUES (1, 0, 0);

-- RFC 8894 §8.4: when a SUCCESS reply carrying the certificate was produced for the client
-- (first time); NULL means never collected.
ALTER TABLE certificates ADD COLUMN delivered_at INTEGER;

CREATE INDEX certificates_template ON certificates (template, serial);
