"""The README's modules example runs and prints the shapes it shows."""
import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / 'README.md'


def test_readme_modules_example_prints_what_it_shows():
    text = README.read_text()
    section = text.split('<!-- SECTION:modules')[1].split('\n## ')[0]
    code, shown = re.search(r'```python\n(.*?)```\s*prints\s*```\n(.*?)```',
                            section, re.S).groups()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(README), 'exec'), {})
    assert printed.getvalue() == shown
