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
