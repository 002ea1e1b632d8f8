"""The GraphQL API through Django's test client, as the specification (docs/specification.md)
describes it: uploadChunk, completeUpload, cancelUpload, the queries, the endpoint's handling of
requests the schema cannot express, the checked-in schema, the admin, the settings as the API
shows them, streaming, the example site, and the hostile-input and stored-path properties. No
server is started."""
