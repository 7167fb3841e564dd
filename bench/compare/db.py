"""Database access for the side-by-side bench (issue #6): psql as the `postgres` user, and one small interface
over a SQLite file and a Postgres database (statements, rows, a row stream) that bench/compare/grow.py writes
its SQL against."""
import os
import sqlite3
import subprocess
from pathlib import Path

PG_BIN = Path(os.environ.get("OSPREY_PG_BIN", "/usr/lib/postgresql/15/bin"))


def as_postgres(args):
    """Postgres' tools refuse to run as root: run them as the postgres user."""
    return ["runuser", "-u", "postgres", "--"] + args if os.getuid() == 0 else args


def run_as_postgres(args, **kw):
    return subprocess.run(as_postgres(args), cwd="/", check=True, capture_output=True, text=True, **kw)


def psql_args(port, db, *extra):
    return [str(PG_BIN / "psql"), "--host=127.0.0.1", f"--port={port}", "--username=postgres", f"--dbname={db}",
            "--no-psqlrc", "--tuples-only", "--no-align", "--quiet", "--set=ON_ERROR_STOP=1", *extra]


def psql(port, sql, db="osprey", extra=()):
    return run_as_postgres(psql_args(port, db, "--command=" + sql, *extra)).stdout.strip()


class Sqlite:
    """A SQLite file opened for bulk writes while the system that owns it is stopped: without a journal (half
    the writes of WAL's write-then-checkpoint) until close(), which puts it back in WAL mode."""
    dialect = "sqlite"

    def __init__(self, path, functions=()):
        self.conn = sqlite3.connect(str(path), timeout=60, isolation_level=None)
        for name, arity, fn in functions:
            self.conn.create_function(name, arity, fn, deterministic=True)
        self.conn.execute("PRAGMA cache_size = -262144")  # 256 MiB for the index inserts of a bulk copy
        self.conn.execute("PRAGMA journal_mode = OFF")
        self.conn.execute("PRAGMA synchronous = OFF")

    def run_transactions(self, transactions):
        """Runs each list of statements in a transaction of its own."""
        for statements in transactions:
            self.conn.execute("BEGIN")
            try:
                for sql in statements:
                    self.conn.execute(sql)
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def rows(self, sql):
        return self.conn.execute(sql).fetchall()

    def stream(self, sql):
        yield from self.conn.execute(sql)

    def columns(self, table):
        return [r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")]

    def size_bytes(self):
        return self.conn.execute("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size").fetchone()[0]

    def analyze(self):
        self.conn.execute("ANALYZE")

    def close(self):
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.close()


class Postgres:
    """A database in a Postgres cluster on 127.0.0.1:port, through psql (one process per call)."""
    dialect = "postgres"

    def __init__(self, port, db):
        self.port, self.db = port, db

    def run_transactions(self, transactions, rebuild_indexes_of=None):
        """Runs each list of statements in a transaction of its own, all in one psql session (temp tables
        live across them). With rebuild_indexes_of (a table name), that table's non-unique indexes are dropped
        first and built again at the end, from their own definitions: one sort per index instead of a random
        B-tree insert per row and index, for a bulk load that adds millions of rows. Unique and primary-key
        indexes stay (the statements may look rows up through them)."""
        script = "SET synchronous_commit = off;\n"
        if rebuild_indexes_of:
            script += (
                "SET maintenance_work_mem = '512MB';\n"
                "CREATE TEMP TABLE grow_rebuilt AS SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS def "
                "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                f"WHERE i.indrelid = '{rebuild_indexes_of}'::regclass AND NOT i.indisunique AND NOT i.indisprimary;\n"
                "DO $$DECLARE r record; BEGIN FOR r IN SELECT name FROM grow_rebuilt LOOP "
                "EXECUTE format('DROP INDEX %I', r.name); END LOOP; END$$;\n")
        script += "".join("BEGIN;\n" + ";\n".join(statements) + ";\nCOMMIT;\n" for statements in transactions)
        if rebuild_indexes_of:
            script += ("DO $$DECLARE r record; BEGIN FOR r IN SELECT def FROM grow_rebuilt LOOP EXECUTE r.def; "
                       "END LOOP; END$$;\nDROP TABLE grow_rebuilt;\n")
        run_as_postgres(psql_args(self.port, self.db, "--file=-"), input=script)

    def rows(self, sql):
        out = run_as_postgres(psql_args(self.port, self.db, "--field-separator=\t", "--command=" + sql)).stdout
        return [tuple(None if v == "" else v for v in line.split("\t")) for line in out.splitlines() if line]

    def stream(self, sql):
        """The rows of `sql` as tuples of text (None for NULL), streamed through COPY ... TO STDOUT."""
        proc = subprocess.Popen(as_postgres(psql_args(self.port, self.db, f"--command=COPY ({sql}) TO STDOUT")),
                                cwd="/", stdout=subprocess.PIPE, text=True, bufsize=1 << 20)
        for line in proc.stdout:
            yield tuple(None if v == "\\N" else v for v in line.rstrip("\n").split("\t"))
        if proc.wait() != 0:
            raise RuntimeError(f"psql COPY failed ({proc.returncode}): {sql[:200]}")

    def columns(self, table):
        return [r[0] for r in self.rows(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
            f"AND table_name = '{table}' ORDER BY ordinal_position")]

    def size_bytes(self):
        return int(self.rows("SELECT pg_database_size(current_database())")[0][0])

    def analyze(self):
        """VACUUM (ANALYZE): the statistics, and the visibility map and hint bits that the insert-triggered
        autovacuum would otherwise set in the background during the timed phases after a bulk load."""
        run_as_postgres(psql_args(self.port, self.db, "--command=VACUUM (ANALYZE)"))

    def close(self):
        pass
