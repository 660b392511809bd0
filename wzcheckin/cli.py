"""The command line (SPEC §6): ``wzcheckin <command>``, the same as ``flask --app wsgi <command>``.

The entry point only: it builds the app, whose ``create_app`` puts every command on ``app.cli``
(the app's own in ``commands.py``, each room's through ``Room(cli=...)``).
"""

from __future__ import annotations

from flask.cli import FlaskGroup

from wzcheckin.app import create_app


def main() -> None:
    cli = FlaskGroup(create_app=lambda: create_app(), load_dotenv=False, set_debug_flag=False,
                     help="wzcheckin: 留温过年 check-in and benefits tracker.")
    cli.main(prog_name="wzcheckin")


if __name__ == "__main__":
    main()
