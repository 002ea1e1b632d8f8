"""The example site's completion hook: what completeUpload reports as responseData."""

from typing import Any


def describe_upload(upload: Any, request: Any) -> dict[str, Any]:
    return {"filename": upload.filename, "size": upload.offset, "storedAs": upload.file.name}
