"""The example site's GraphQL schema: the project owns it, the app contributes the mixins."""

import graphene

import chunked_graphql.schema


class Query(chunked_graphql.schema.Query, graphene.ObjectType):
    pass


class Mutation(chunked_graphql.schema.Mutation, graphene.ObjectType):
    pass


schema = graphene.Schema(query=Query, mutation=Mutation)
