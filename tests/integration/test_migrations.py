"""The migrations are the schema: they build exactly what the models describe, on both backends."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tests.databases import TemplateDatabase
from trustdesk.db import Base, make_engine
from trustdesk.migrations import tables  # noqa: F401  (registers every table)


def test_migrated_schema_matches_the_models(template: TemplateDatabase) -> None:
    engine = make_engine(template.url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []
