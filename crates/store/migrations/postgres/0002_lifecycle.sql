-- scepd store, schema 2 (PostgreSQL). Keep in step with ../sqlite/0002_lifecycle.sql; the
-- comments on each table's purpose are there.

CREATE TABLE pending_requests (
    id                        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id            TEXT   NOT NULL,
    signer_key_sha256         TEXT   NOT NULL,
    request_sha256            TEXT   NOT NULL,
    csr_der                   BYTEA  NOT NULL,
    template                  TEXT   NOT NULL,
    subject                   TEXT   NOT NULL,
    challenge_hash            TEXT   REFERENCES challenges (hash),
    requester_certificate_der BYTEA  NOT NULL,
    created_at                BIGINT NOT NULL,
    state                     TEXT   NOT NULL
        CHECK (state IN ('pending', 'approved', 'denied', 'issued')),
    decided_by                TEXT,
    decided_at                BIGINT,
    reason                    TEXT,
    serial                    TEXT   UNIQUE REFERENCES certificates (serial),
    issued_at                 BIGINT,
    UNIQUE (transaction_id, request_sha256),
    CHECK ((state = 'pending') = (decided_by IS NULL)),
    CHECK ((state = 'issued') = (serial IS NOT NULL))
);

CREATE INDEX pending_requests_state ON pending_requests (state, id);

CREATE TABLE pending_request_sans (
    request_id BIGINT NOT NULL REFERENCES pending_requests (id),
    position   BIGINT NOT NULL,
    san        TEXT   NOT NULL,
    PRIMARY KEY (request_id, position)
);

CREATE TABLE revocations (
    serial     TEXT   NOT NULL PRIMARY KEY REFERENCES certificates (serial),
    revoked_at BIGINT NOT NULL,
    reason     TEXT   NOT NULL,
    revoked_by TEXT   NOT NULL
);

CREATE TABLE crl_state (
    id                  BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    last_number         BIGINT NOT NULL,
    revocation_count    BIGINT NOT NULL,
    published_number    BIGINT,
    this_update         BIGINT,
    next_update         BIGINT,
    covered_revocations BIGINT,
    der                 BYTEA
);

INSERT INTO crl_state (id, last_number, revocation_count) VALUES (1, 0, 0);

ALTER TABLE certificates ADD COLUMN delivered_at BIGINT;

CREATE INDEX certificates_template ON certificates (template, serial);
