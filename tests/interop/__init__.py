"""Outside clients against a real gunicorn server: Python ``gql``, Apollo Client on Node (the npm
package in ``node/``), the example site's uploader in headless Chromium, and the project's own
Python client library and ``chunked-upload`` command. Marked ``interop`` (and ``e2e``: each starts
a server) by tests/conftest.py."""
