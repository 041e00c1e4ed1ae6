-- The hub's first schema. IF NOT EXISTS because hubs released before
-- versioned migrations created these tables themselves: on their databases
-- this step only records version 1.
-- BIGINT is PostgreSQL's 64-bit integer; SQLite gives it INTEGER affinity.

-- +goose Up
CREATE TABLE IF NOT EXISTS devices (
	id TEXT PRIMARY KEY,
	dkey TEXT NOT NULL,
	tags TEXT NOT NULL,
	enabled BIGINT NOT NULL,
	version BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	last_seen BIGINT NOT NULL DEFAULT 0,
	desired_version BIGINT NOT NULL,
	reported TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE IF NOT EXISTS objects (
	device_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	name TEXT NOT NULL,
	version BIGINT NOT NULL,
	data TEXT NOT NULL,
	PRIMARY KEY (device_id, kind, name)
);

CREATE TABLE IF NOT EXISTS twins (
	device_id TEXT NOT NULL,
	module TEXT NOT NULL,
	desired TEXT NOT NULL,
	desired_version BIGINT NOT NULL,
	reported TEXT NOT NULL,
	reported_version BIGINT NOT NULL,
	PRIMARY KEY (device_id, module)
);
