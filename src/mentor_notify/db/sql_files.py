"""The one way the package reads its SQL: `.sql` files kept beside the code that runs them.

Each package that talks to the database keeps its statements in a `sql/`
folder of its own, commented with what each one is for; Python code names a
statement by package and file name and never holds SQL text itself.
"""

from functools import cache
from importlib.resources import files


@cache
def load_sql(package: str, name: str) -> str:
    """The text of `sql/<name>.sql` inside `package` (read once, then cached)."""
    return files(package).joinpath("sql", f"{name}.sql").read_text("utf-8")


def load_stages(package: str, *names: str) -> str:
    """One statement written as several files, in order: each file holds one stage's
    common table expressions (the first opens with `with`, the last ends with the
    statement's select), so a stage can be read and changed on its own while the
    database still runs, and plans, the whole as one statement."""
    # The comma goes on a line of its own: a stage may end with a comment.
    return "\n,\n".join(load_sql(package, name).rstrip() for name in names)
