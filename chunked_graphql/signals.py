"""Signals sent by the upload service."""

from django.dispatch import Signal

#: Sent once when an upload completes, inside the completing transaction.
#: Sender: the upload model class. Arguments: ``upload`` and ``request`` (``None`` outside a
#: request). A receiver that raises rolls the completion back.
upload_completed = Signal()
