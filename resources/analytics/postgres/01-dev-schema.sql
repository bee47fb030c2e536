-- Runs once, when the Postgres data folder is new (docker-entrypoint-initdb.d).
-- Schema `dev` for the user's tables, the database's default search path, and a
-- publication of every table in it for change data capture (Debezium).
CREATE SCHEMA IF NOT EXISTS dev;
GRANT ALL ON SCHEMA dev TO db_user;
ALTER DATABASE factorhouse SET search_path TO dev;
CREATE PUBLICATION cdc_pub FOR TABLES IN SCHEMA dev;
