-- scepd store, schema 7 (SQLite): accounts that may authenticate with HTTP Basic. Keep in step
-- with ../postgres/0007_basic_auth.sql.
--
-- MDM connectors read NDES's mscep_admin page with HTTP Basic (or NTLM, which scepd never
-- speaks). scepd lets only the accounts an operator marked for it do so (`scepd user add
-- --basic-auth`, `scepd user basic-auth NAME --on|--off`): a machine account per MDM, whose
-- only power is obtaining challenges. Every account existing before this schema stays
-- unmarked, so upgrading opens nothing.
ALTER TABLE users ADD COLUMN basic_auth INTEGER NOT NULL DEFAULT 0
    CHECK (basic_auth IN (0, 1));
