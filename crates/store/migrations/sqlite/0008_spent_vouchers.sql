-- scepd store, schema 8 (SQLite): identifiers an outside verifier vouched with that may be
-- used once only (a signed challenge's id). Keep in step with ../postgres/0008_spent_vouchers.sql.
--
-- A signed challenge is minted offline by the MDM, so scepd holds no row for it until it is
-- used; the id is written here in the transaction that records the certificate it led to, and
-- the primary key makes a second use fail, however many nodes race for it. Not the challenges
-- table: a row there is a password anyone may present, and an id is public in the JWS.
CREATE TABLE spent_vouchers (
    id             TEXT    NOT NULL PRIMARY KEY,   -- e.g. "signed:mdm1:6f1c…"
    transaction_id TEXT    NOT NULL,
    spent_at       BIGINT  NOT NULL
);
