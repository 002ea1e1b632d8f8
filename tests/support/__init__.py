"""What the test modules share and none of them tests: the GraphQL callers (Django's test client
in ``graphql_client``, real HTTP in ``http_api``), the real servers (``servers``), sample data and
read-back helpers (``uploads``), the outside components (``components``), the failing network
(``flaky_proxy``), the crash-test WSGI entry (``faults``), the settings of the test process
(``settings``) and of the servers it starts (``server_settings``), and the PostgreSQL probe of
``make test`` (``check_postgres``)."""
