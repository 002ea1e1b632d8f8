"""End-to-end tests: the app behind real servers started for the test (gunicorn, pytest-django's
live server, moto's S3 server), reached over real HTTP through one caller
(``tests.support.http_api.Http``): races across worker processes, workers killed mid-upload,
several servers sharing a database, expiry, load, S3 storage, hostile bodies and security over
the wire, and the benchmark harness. Marked ``e2e`` by tests/conftest.py."""
