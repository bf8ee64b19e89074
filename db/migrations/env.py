"""Alembic environment: online migrations only (PostgreSQL features throughout).

A caller that already holds a connection (db.database.migrate_to_head, the tests)
passes it in `config.attributes["connection"]`; the `alembic` command line
connects to DATABASE_URL, else to the embedded server in .pgdata/.
"""

from alembic import context

from db.models import Base

target_metadata = Base.metadata


def _in_models(name, type_, parent_names) -> bool:
    # The job queue's tables are procrastinate's (revision 0008), not db.models'.
    return not (type_ == "table" and name.startswith("procrastinate_"))


def run_migrations(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      compare_type=True, include_name=_in_models)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    from db.database import database_url, make_engine

    engine = make_engine(database_url())
    with engine.connect() as new_connection:
        run_migrations(new_connection)
        new_connection.commit()
    engine.dispose()
