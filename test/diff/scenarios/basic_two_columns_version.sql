-- claim: a move between two columns of one row (to_column) with a version column: one row change, version + 1, as one UPDATE of both columns
-- role: tgd_alice
-- @setup
CREATE TABLE players (id int PRIMARY KEY, coins int NOT NULL, gems int NOT NULL, version int NOT NULL DEFAULT 0);
INSERT INTO players VALUES (7, 100, 5, 0), (8, 0, 0, 0);
SELECT guard('players', 'coins', version_column => 'version'), guard('players', 'gems', 0, 50, version_column => 'version');
GRANT SELECT, UPDATE ON players TO tgd_alice;
CREATE TABLE log (tg text, id int, coins int, gems int, version int);
GRANT INSERT ON log TO tgd_alice;
CREATE FUNCTION log_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO log VALUES (TG_NAME, NEW.id, NEW.coins, NEW.gems, NEW.version);
	RETURN NEW;
END $$;
CREATE TRIGGER after_row AFTER UPDATE ON players FOR EACH ROW EXECUTE FUNCTION log_row();
-- @ext
SELECT * FROM transfer('players', 7, 7, 30, balance_column => 'coins', to_column => 'gems');
-- @plain
BEGIN;
SELECT tgd.found(count(*), 1) FROM (SELECT FROM players WHERE id = 7 FOR NO KEY UPDATE) l;
WITH u AS (UPDATE players SET coins = coins - 30, gems = gems + 30, version = version + 1
			WHERE id = 7 AND coins - 30 >= 0 AND gems + 30 <= 50 RETURNING 1)
SELECT tgd.limited(count(*)) FROM u;
COMMIT;
