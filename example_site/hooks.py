"""The example site's completion hook: what completeUpload reports as responseData.

Only what the client already knows or may know: where the bytes are stored is the server's
business, and naming it would tell an attacker the storage layout.
"""

from typing import Any


def describe_upload(upload: Any, request: Any) -> dict[str, Any]:
    return {"id": str(upload.pk), "filename": upload.filename, "size": upload.offset}
