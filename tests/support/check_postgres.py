"""Is the PostgreSQL server of the second test run reachable?

``make test`` runs the suite on SQLite, then on PostgreSQL. Exit status 0: reachable, run it.
Exit status 75: not reachable on a developer's machine, skip that run with a message. With ``CI``
set, an unreachable server is a failure (status 1), never a skip.
"""

import os
import sys

import dj_database_url
import psycopg

SKIP = 75


def main(url: str) -> int:
    config = dj_database_url.parse(url)
    try:
        psycopg.connect(
            dbname=config["NAME"],
            user=config["USER"] or None,
            password=config["PASSWORD"] or None,
            host=config["HOST"] or None,
            port=config["PORT"] or None,
            connect_timeout=5,
        ).close()
    except psycopg.OperationalError as error:
        message = f"PostgreSQL at {url} is not reachable: {error}".strip()
        if os.environ.get("CI"):
            print(f"error: {message}", file=sys.stderr)
            return 1
        print(f"skipping the PostgreSQL run: {message}", file=sys.stderr)
        return SKIP
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
