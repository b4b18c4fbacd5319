-- scepd store, schema 4 (PostgreSQL). Keep in step with ../sqlite/0004_accounts.sql; the
-- comments on each table's purpose are there. `disabled` is a 0/1 BIGINT rather than BOOLEAN
-- so the shared queries decode the same integer on both backends.
CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT   NOT NULL UNIQUE,
    role          TEXT   NOT NULL
        CHECK (role IN ('pki-admin', 'device-admin', 'cert-manager', 'auditor')),
    password_hash TEXT,
    disabled      BIGINT NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    BIGINT NOT NULL
);

CREATE TABLE user_templates (
    user_id  BIGINT NOT NULL REFERENCES users (id),
    template TEXT   NOT NULL,
    PRIMARY KEY (user_id, template)
);

CREATE TABLE api_tokens (
    token_hash TEXT   NOT NULL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    label      TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE client_certificates (
    cert_sha256 TEXT   NOT NULL PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    created_at  BIGINT NOT NULL
);

CREATE INDEX client_certificates_user ON client_certificates (user_id);

CREATE TABLE sessions (
    session_hash TEXT   NOT NULL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    CHECK (expires_at > created_at)
);

CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);
