-- scepd store, schema 4 (SQLite): administrator accounts, their template grants, and the
-- three ways they authenticate (password, API token, client certificate) plus login sessions.
-- Keep in step with ../postgres/0004_accounts.sql.
--
-- No secret is stored: passwords as argon2id PHC strings, API tokens and session ids (256
-- random bits each) as lowercase hex SHA-256, client certificates by the hex SHA-256 of their
-- DER. A copy of the database lets nobody log in. Users are disabled, never deleted, so the
-- audit log's actor names keep pointing at a row.
CREATE TABLE users (
    id            INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL
        CHECK (role IN ('pki-admin', 'device-admin', 'cert-manager', 'auditor')),
    password_hash TEXT,                                   -- NULL: no password login (token/cert only)
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL
);

-- Templates a device-admin may obtain challenges for, or a cert-manager may act on (NDES's
-- Enroll permission on the template).
CREATE TABLE user_templates (
    user_id  INTEGER NOT NULL REFERENCES users (id),
    template TEXT    NOT NULL,
    PRIMARY KEY (user_id, template)
);

CREATE TABLE api_tokens (
    token_hash TEXT    NOT NULL PRIMARY KEY,              -- hex SHA-256 of the token text
    user_id    INTEGER NOT NULL REFERENCES users (id),
    label      TEXT    NOT NULL,                          -- what the operator called it ("intune")
    created_at INTEGER NOT NULL
);

CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- A certificate authenticates one user only.
CREATE TABLE client_certificates (
    cert_sha256 TEXT    NOT NULL PRIMARY KEY,             -- hex SHA-256 of the certificate DER
    user_id     INTEGER NOT NULL REFERENCES users (id),
    created_at  INTEGER NOT NULL
);

CREATE INDEX client_certificates_user ON client_certificates (user_id);

CREATE TABLE sessions (
    session_hash TEXT    NOT NULL PRIMARY KEY,            -- hex SHA-256 of the session id
    user_id      INTEGER NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,                        -- unix seconds, exclusive
    CHECK (expires_at > created_at)
);

CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);
