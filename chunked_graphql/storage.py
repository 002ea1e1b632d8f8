"""The path migrations made before the ``stores`` package name for the upload model's storage.

A project in ``ABSTRACT_MODEL`` mode has a migration of its own that refers to
``chunked_graphql.storage.get_configured_storage``; this keeps it importable. New code imports
from ``chunked_graphql.stores``.
"""

from .stores.configured import get_configured_storage

__all__ = ["get_configured_storage"]
