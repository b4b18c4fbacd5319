-- scepd store, schema 1 (SQLite). Keep in step with ../postgres/0001_initial.sql.

-- One-time enrollment challenges. Only the SHA-256 of the secret is stored, so a copy of the
-- database cannot be replayed against the RA. A challenge is consumed by the single conditional
-- UPDATE in record_issuance (used_at IS NULL AND expires_at > now), inside the same database
-- transaction that records the certificate: it is spent exactly once, and only if the
-- certificate is durably recorded.
CREATE TABLE challenges (
    hash                TEXT    NOT NULL PRIMARY KEY,   -- lowercase hex SHA-256 of the secret
    template            TEXT    NOT NULL,               -- the only template it may enroll for
    binding_subject     TEXT,                           -- NULL: not bound to a subject
    created_at          INTEGER NOT NULL,               -- unix seconds
    expires_at          INTEGER NOT NULL,               -- unix seconds, exclusive
    created_by          TEXT    NOT NULL,               -- the administrator or MDM that minted it
    used_at             INTEGER,                        -- NULL until consumed
    used_by_transaction TEXT,                           -- transactionID of the request that spent it
    CHECK (expires_at > created_at),
    CHECK ((used_at IS NULL) = (used_by_transaction IS NULL))
);

-- The SANs a challenge was minted for, in the order given (a child table rather than an encoded
-- list so both backends store them the same way). No rows: not bound to SANs.
CREATE TABLE challenge_binding_sans (
    challenge_hash TEXT    NOT NULL REFERENCES challenges (hash) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    san            TEXT    NOT NULL,                    -- e.g. "dns:device1.example"
    PRIMARY KEY (challenge_hash, position)
);

-- SCEP transactions (RFC 8894 §3.2.1.1 transactionID). A transactionID belongs to one signer
-- key: the same ID from another key is refused (record_issuance checks it). One key may hold
-- several requests under one ID — clients derive the ID from the key, and renew with the same
-- key — so a transaction is (transactionID, request): the same request again is a retry and
-- gets the same certificate back.
CREATE TABLE transactions (
    transaction_id    TEXT    NOT NULL,
    signer_key_sha256 TEXT    NOT NULL,                 -- hex SHA-256 of the signer's SPKI DER
    request_sha256    TEXT    NOT NULL,                 -- hex SHA-256 of the PKCS#10 DER
    status            TEXT    NOT NULL CHECK (status IN ('issued')),
    serial            TEXT    UNIQUE                    -- the certificate, once issued
        REFERENCES certificates (serial) DEFERRABLE INITIALLY DEFERRED,
    challenge_hash    TEXT    REFERENCES challenges (hash),
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (transaction_id, request_sha256)
);

-- Every certificate the CA signed, committed before the reply is sent (nothing lost).
CREATE TABLE certificates (
    serial         TEXT    NOT NULL PRIMARY KEY,        -- lowercase hex of the INTEGER content octets
    der            BLOB    NOT NULL,
    subject        TEXT    NOT NULL,                    -- RFC 4514 text, for operators
    not_before     INTEGER NOT NULL,
    not_after      INTEGER NOT NULL,
    template       TEXT    NOT NULL,
    transaction_id TEXT    NOT NULL,                    -- the request's transactionID
    issued_at      INTEGER NOT NULL
);

-- Append-only, hash-chained audit trail: hash = SHA-256 over prev_hash and the row's fields
-- (see src/audit.rs). seq is assigned by the writer as last seq + 1, so two writers that read
-- the same head collide on the primary key instead of forking the chain. The triggers make
-- UPDATE and DELETE fail for any client that is not also able to drop them; the chain is what
-- detects the ones that can.
CREATE TABLE audit_log (
    seq       INTEGER NOT NULL PRIMARY KEY,
    at        INTEGER NOT NULL,
    kind      TEXT    NOT NULL,
    actor     TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    detail    TEXT    NOT NULL,
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL UNIQUE
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
