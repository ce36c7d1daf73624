-- Header values given to a connection (its fixed headers), an action hook
-- or an API call are sealed with the key ring from this version on: the
-- headers column holds the whole set sealed, as a JSON string
-- (secret.Ring.SealHeaders). Rows written before hold it in plaintext, as a
-- JSON object. SQL cannot seal, so this lists the tables that may hold such
-- rows; the first process that starts with the keys seals them
-- (secret.Ring.SealPlainHeaders) and takes each table off the list. Until
-- then both forms are read.
CREATE TABLE unsealed_headers (
    table_name TEXT PRIMARY KEY
);
INSERT INTO unsealed_headers (table_name) VALUES ('connections'), ('hooks'), ('calls');
