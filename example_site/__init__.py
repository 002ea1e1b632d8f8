"""A runnable Django project using chunked_graphql: GraphiQL at /graphql/, the admin, sign-in."""
