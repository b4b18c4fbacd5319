-- scepd store, schema 1 (PostgreSQL). Keep in step with ../sqlite/0001_initial.sql; the
-- comments on each table's purpose are there.

CREATE TABLE challenges (
    hash                TEXT   NOT NULL PRIMARY KEY,
    template            TEXT   NOT NULL,
    binding_subject     TEXT,
    created_at          BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    created_by          TEXT   NOT NULL,
    used_at             BIGINT,
    used_by_transaction TEXT,
    CHECK (expires_at > created_at),
    CHECK ((used_at IS NULL) = (used_by_transaction IS NULL))
);

CREATE TABLE challenge_binding_sans (
    challenge_hash TEXT   NOT NULL REFERENCES challenges (hash) ON DELETE CASCADE,
    position       BIGINT NOT NULL,
    san            TEXT   NOT NULL,
    PRIMARY KEY (challenge_hash, position)
);

CREATE TABLE transactions (
    transaction_id    TEXT   NOT NULL,
    signer_key_sha256 TEXT   NOT NULL,
    request_sha256    TEXT   NOT NULL,
    status            TEXT   NOT NULL CHECK (status IN ('issued')),
    serial            TEXT   UNIQUE,
    challenge_hash    TEXT   REFERENCES challenges (hash),
    created_at        BIGINT NOT NULL,
    PRIMARY KEY (transaction_id, request_sha256)
);

CREATE TABLE certificates (
    serial         TEXT   NOT NULL PRIMARY KEY,
    der            BYTEA  NOT NULL,
    subject        TEXT   NOT NULL,
    not_before     BIGINT NOT NULL,
    not_after      BIGINT NOT NULL,
    template       TEXT   NOT NULL,
    transaction_id TEXT   NOT NULL,
    issued_at      BIGINT NOT NULL
);

-- Added after both tables exist (the transaction row is written before its certificate, in
-- the same database transaction, hence DEFERRABLE).
ALTER TABLE transactions
    ADD CONSTRAINT transactions_serial_fkey
    FOREIGN KEY (serial) REFERENCES certificates (serial)
    DEFERRABLE INITIALLY DEFERRED;

CREATE TABLE audit_log (
    seq       BIGINT NOT NULL PRIMARY KEY,
    at        BIGINT NOT NULL,
    kind      TEXT   NOT NULL,
    actor     TEXT   NOT NULL,
    subject   TEXT   NOT NULL,
    detail    TEXT   NOT NULL,
    prev_hash TEXT   NOT NULL,
    hash      TEXT   NOT NULL UNIQUE
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
