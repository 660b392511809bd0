"""The README is the API's front page: every documented API operation must appear in it."""

import re
from pathlib import Path

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_api_route_is_in_the_readme(app):
    with app.app_context():
        from wzcheckin.api.openapi import build_document

        document = build_document()
    api_section = README[README.index("## API"):]
    missing = []
    for path in document["paths"]:
        # "/api/v1/reservations/{public_id}" may be written as "…" after the first of a group.
        tail = path.removeprefix("/api/v1")
        pattern = re.escape(tail).replace(r"\{", "{").replace(r"\}", "}")
        if not re.search(pattern + r"[`\s?,]", api_section):
            missing.append(path)
    assert missing == [], f"API routes missing from README.md: {missing}"


def test_readme_names_the_two_commands():
    assert "./scripts/demo" in README and "./scripts/test" in README
