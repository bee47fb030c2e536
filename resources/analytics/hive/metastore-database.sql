-- The Hive Metastore's database in the platform's Postgres (catalog: hive), apart from
-- the user's database `factorhouse`. Run by the one-shot metastore-db (psql, as db_user)
-- whenever Postgres starts anew, so that it is there on a new data folder and on one kept
-- from before the metastore ran. It only ever creates the database where it is missing:
-- a second run changes nothing, and nothing here drops or alters what exists.
-- (CREATE DATABASE has no IF NOT EXISTS and cannot run in a DO block: psql's \gexec runs
-- the statement the query returns, and the query returns none when the database exists.)
SELECT 'CREATE DATABASE metastore'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'metastore')\gexec
