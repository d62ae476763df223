"""Error messages are one f-string each: no implicit concatenation inside a ``raise``."""

import io
import tokenize
from pathlib import Path

import feedlab

SOURCE = Path(feedlab.__file__).parent


def _implicit_concatenations(path: Path) -> list[int]:
    """Lines where two string tokens follow each other inside a raise statement."""
    found = []
    in_raise = False
    previous = None
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    for token in tokens:
        if token.type == tokenize.NAME and token.string == "raise":
            in_raise = True
        elif token.type == tokenize.NEWLINE:
            in_raise = False
        if token.type in (tokenize.NL, tokenize.COMMENT):
            continue
        if in_raise and token.type == tokenize.STRING and previous == tokenize.STRING:
            found.append(token.start[0])
        previous = token.type
    return found


def test_no_error_message_is_split_across_implicitly_joined_strings() -> None:
    offenders = {
        str(path.relative_to(SOURCE)): lines
        for path in sorted(SOURCE.rglob("*.py"))
        if (lines := _implicit_concatenations(path))
    }
    assert offenders == {}


def test_the_check_finds_a_split_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text('raise ValueError(\n    "part one "\n    "part two"\n)\n')
    assert _implicit_concatenations(bad) == [3]
