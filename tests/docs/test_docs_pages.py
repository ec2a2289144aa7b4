"""README.md and every docs/*.md page say only what is true of this repository.

Conventions in the pages (this docstring is where they are defined):

* ``<!-- run -->`` on the line before a python fence: the block runs on CPU (fresh namespace, repository
  root as working directory). When the next fence, at most four lines below, is a text fence, what the
  block prints must equal it.
* ``<!-- same-as: PATH -->`` before a python fence: the block is the file PATH (same AST).
* Every other python block must parse, and what it imports must exist. Text fences hold output
  (transcripts, messages) and are not checked.
* Commands are the lines of bash/sh/shell/untagged fences and the inline code spans that start with
  ``psp-plugin``, ``python`` or ``mim``: ``psp-plugin SUB`` must name a real sub-command and only options
  its parser accepts; ``python -m MODULE`` an importable module (a package needs ``__main__``);
  ``python -c CODE`` must parse and its ``from X import Y`` resolve; ``mim train|test mmsegmentation
  CONFIG`` an existing config (a path with an UPPER-CASE part, such as ``WORK_DIR/config.py``, is a
  placeholder).
* Repository paths (``psp_plugin/``, ``configs/``, ``benchmarks/``, ``scripts/``, ``tests/``, ``docs/``, with
  ``{a,b}`` and ``*`` expanded) in inline code and in command/python fences, bare config names
  (``pspnet_*.py``), dotted names (``psp_plugin.x.y``) and relative links (with ``#anchors``) must exist.
* README.md stays under 10 KB, links every docs page and lists every ``psp-plugin`` sub-command in its
  "Command line" section; no page keeps an authoring marker (``<!-- SECTION``).
"""
import argparse
import ast
import contextlib
import importlib
import importlib.util
import io
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / 'README.md'] + sorted((ROOT / 'docs').glob('*.md'))
PAGE_IDS = [str(p.relative_to(ROOT)) for p in PAGES]
COMMAND_LANGS = ('bash', 'sh', 'shell', '')
PATH_RE = re.compile(r"(?<![\w/.~-])((?:psp_plugin|configs|benchmarks|scripts|tests|docs)/"
                     r"(?:[^\s`'\"(),;:\[\]{}]|\{[^{}\s]*\})*)")
USAGE_TOKEN = r'\[?[\w.|/=-]*\]?'  # a token of usage syntax such as [--opset 18] or minmax|full]
MARKER_RE = re.compile(r'<!--\s*(run|same-as:\s*(\S+))\s*-->$')


@dataclass
class Fence:
    """One fenced block: its language tag, text, first line number and marker comment."""
    lang: str
    code: str
    line: int
    marker: str
    next_text: str | None = None


def read_fences(page: Path) -> list[Fence]:
    """Fences of a page in order; a ```python fence gets the ```text fence that follows it closely."""
    lines = page.read_text(encoding='utf-8').splitlines()
    fences: list[Fence] = []
    ends: list[int] = []
    i = 0
    while i < len(lines):
        opening = re.match(r'\s*```(\w*)\s*$', lines[i])
        if not opening:
            i += 1
            continue
        start, i = i, i + 1
        while i < len(lines) and not lines[i].strip().startswith('```'):
            i += 1
        before = lines[start - 1].strip() if start > 0 else ''
        fences.append(Fence(opening.group(1), '\n'.join(lines[start + 1:i]) + '\n', start + 1,
                            before if before.startswith('<!--') else ''))
        ends.append(i)
        i += 1
    for k, fence in enumerate(fences[:-1]):
        following = fences[k + 1]
        if fence.lang == 'python' and following.lang == 'text' and following.line - 1 - ends[k] <= 4:
            fence.next_text = following.code
    return fences


def prose(page: Path) -> str:
    """The page's text outside fences."""
    return re.sub(r'^\s*```.*?^\s*```[^\n]*$', '', page.read_text(encoding='utf-8'), flags=re.S | re.M)


def inline_code(page: Path) -> list[str]:
    """Inline code spans outside fences (a span may wrap onto the next line)."""
    return [' '.join(span.split()) for span in re.findall(r'`([^`]+)`', prose(page))]


def commands(page: Path) -> list[list[str]]:
    """Shell commands shown on the page, each as its tokens (usage brackets removed)."""
    texts = [span for span in inline_code(page) if re.match(r'(\S*/)?(psp-plugin|python3?|mim)( |$)', span)]
    for fence in read_fences(page):
        if fence.lang in COMMAND_LANGS:
            joined = re.sub(r'\\\n\s*', ' ', fence.code)
            texts += [re.sub(r'^\$ ', '', line.strip()) for line in joined.splitlines()]
    result = []
    for text in texts:
        try:
            tokens = shlex.split(text, comments=True)
        except ValueError:  # an inline span quoting only part of a command
            tokens = text.split()
        command: list[str] = []
        for token in tokens + [';']:
            if token in (';', '&&', '||', '|'):
                result += [command] if command else []
                command = []
            else:
                command.append(re.sub(r'^\[|\]$', '', token) if re.fullmatch(USAGE_TOKEN, token) else token)
    return [[t for t in cmd if t] for cmd in result if any(cmd)]


def expand(path: str) -> list[str]:
    """Expand shell braces ``{a,b}`` (nested allowed) into every path they stand for."""
    match = re.search(r'\{([^{}]*)\}', path)
    if not match:
        return [path]
    return [p for alt in match.group(1).split(',')
            for p in expand(path[:match.start()] + alt + path[match.end():])]


def missing(path: str) -> bool:
    """True when no file or folder of the repository matches ``path`` (``*`` is a glob).

    ``psp_plugin/.mim/`` exists only in a built wheel (setup.py copies ``configs/`` there), so it counts
    as ``configs/``.
    """
    path = re.sub(r'^psp_plugin/\.mim/configs', 'configs', path.rstrip('.').rstrip('/'))
    return not any((ROOT / p).exists() if '*' not in p else any(ROOT.glob(p)) for p in expand(path))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r'[^\w\- ]', '', heading.strip().lower().replace('`', ''))
    return text.replace(' ', '-')


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings."""
    return {slug(h) for h in re.findall(r'^#+ (.+)$', prose(page), flags=re.M)}


def cli_parser() -> argparse.ArgumentParser:
    """The real ``psp-plugin`` parser, built by psp_plugin/cli/main.py."""
    if not (ROOT / 'psp_plugin' / 'cli' / 'main.py').exists():
        pytest.skip('psp_plugin/cli/main.py does not exist yet, so psp-plugin commands cannot be checked')
    main = importlib.import_module('psp_plugin.cli.main')
    return main.build_parser()


def sub_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Sub-command name -> its parser."""
    return next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def resolves(dotted: str) -> bool:
    """True when ``a.b.c`` is an importable module or an attribute of one."""
    parts = dotted.split('.')
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module('.'.join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
        except AttributeError:
            return False
        return True
    return False


@pytest.mark.parametrize('page', PAGES, ids=PAGE_IDS)
def test_python_blocks_parse_import_real_names_and_markers_are_known(page: Path):
    for fence in read_fences(page):
        if fence.marker:
            assert MARKER_RE.match(fence.marker), f'{page.name}:{fence.line}: unknown marker {fence.marker}'
            assert fence.lang == 'python', f'{page.name}:{fence.line}: markers go before ```python fences'
        if fence.lang == 'python':
            tree = ast.parse(fence.code, f'{page.name}:{fence.line}')
            imported = [f'{n.module}.{a.name}' for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                        for a in n.names] + [a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                                             for a in n.names]
            assert all(resolves(name) for name in imported), f'{page.name}:{fence.line} imports {imported}'


RUNNABLE = [(page, fence) for page in PAGES for fence in read_fences(page) if fence.marker == '<!-- run -->']


@pytest.mark.parametrize('page, fence', RUNNABLE,
                         ids=[f'{p.relative_to(ROOT)}:{f.line}' for p, f in RUNNABLE])
def test_runnable_blocks_print_what_the_page_shows(page: Path, fence: Fence, monkeypatch, single_thread):
    monkeypatch.chdir(ROOT)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(fence.code, f'{page}:{fence.line}', 'exec'), {'__name__': '__docs__'})
    if fence.next_text is not None:
        assert printed.getvalue().rstrip() == fence.next_text.rstrip()


@pytest.mark.parametrize('page', PAGES, ids=PAGE_IDS)
def test_same_as_blocks_equal_their_files(page: Path):
    for fence in read_fences(page):
        match = MARKER_RE.match(fence.marker)
        if match and match.group(2):
            source = (ROOT / match.group(2)).read_text(encoding='utf-8')
            assert ast.dump(ast.parse(fence.code)) == ast.dump(ast.parse(source)), \
                f'{page.name}:{fence.line} differs from {match.group(2)}; copy the file into the page again'


@pytest.mark.parametrize('page', PAGES, ids=PAGE_IDS)
def test_relative_links_and_anchors_exist(page: Path):
    for target in re.findall(r'\]\(([^)\s]+)\)', prose(page)):
        if re.match(r'[a-z]+:', target):
            continue
        file_part, _, anchor = target.partition('#')
        linked = (page.parent / file_part).resolve() if file_part else page
        assert linked.exists(), f'{page.name} links to {target}, which does not exist'
        if anchor and linked.suffix == '.md':
            assert anchor in anchors(linked), f'{page.name} links to {target}: no such heading'


@pytest.mark.parametrize('page', PAGES, ids=PAGE_IDS)
def test_repository_paths_and_names_exist(page: Path):
    texts = inline_code(page) + [f.code for f in read_fences(page) if f.lang in COMMAND_LANGS + ('python',)]
    paths = {p for text in texts for p in PATH_RE.findall(text)}
    paths |= {'configs/' + s for s in inline_code(page) if re.fullmatch(r'pspnet_[\w.{},-]+\.py', s)}
    assert not sorted(p for p in paths if missing(p)), f'{page.name} names paths that do not exist'
    names = {m.group(1) for s in inline_code(page)
             if (m := re.fullmatch(r'(psp_plugin(?:\.\w+)+)(\(.*\))?', s))}
    assert not sorted(n for n in names if not resolves(n)), f'{page.name} names things that do not exist'


@pytest.mark.parametrize('page', PAGES, ids=PAGE_IDS)
def test_python_and_mim_commands_name_real_things(page: Path):
    for cmd in commands(page):
        program = cmd[0].rsplit('/', 1)[-1]
        if program in ('python', 'python3') and len(cmd) > 2 and cmd[1] == '-m':
            spec = importlib.util.find_spec(cmd[2])
            assert spec is not None, f'{page.name}: python -m {cmd[2]}: no such module'
            if spec.submodule_search_locations is not None:
                assert importlib.util.find_spec(cmd[2] + '.__main__'), f'{cmd[2]} has no __main__'
        elif program in ('python', 'python3') and len(cmd) > 2 and cmd[1] == '-c':
            for node in ast.walk(ast.parse(cmd[2])):
                if isinstance(node, ast.ImportFrom):
                    assert all(resolves(f'{node.module}.{a.name}') for a in node.names), cmd[2]
        elif program == 'mim' and len(cmd) > 3 and cmd[1] in ('train', 'test') and cmd[2] == 'mmsegmentation':
            if not any(part.isupper() for part in Path(cmd[3]).parts):  # WORK_DIR/config.py: a placeholder
                assert (ROOT / cmd[3]).is_file(), f'{page.name}: {" ".join(cmd[:4])}: no such config'


@pytest.mark.parametrize('page', PAGES, ids=PAGE_IDS)
def test_psp_plugin_commands_use_real_subcommands_and_options(page: Path):
    shown = [cmd for cmd in commands(page) if cmd[0].rsplit('/', 1)[-1] == 'psp-plugin']
    if not shown:
        return
    parser = cli_parser()
    subs = sub_parsers(parser)
    for cmd in shown:
        if len(cmd) == 1 or cmd[1].startswith('-'):
            assert set(cmd[1:]) <= set(parser._option_string_actions), f'{page.name}: {" ".join(cmd)}'
            continue
        assert cmd[1] in subs, f'{page.name}: psp-plugin {cmd[1]}: no such sub-command ({sorted(subs)})'
        accepted = subs[cmd[1]]._option_string_actions
        unknown = [t.split('=')[0] for t in cmd[2:]
                   if t.startswith('-') and t != '-' and t.split('=')[0] not in accepted]
        assert not unknown, f'{page.name}: psp-plugin {cmd[1]} does not accept {unknown}'


def test_readme_is_short_links_every_page_and_lists_every_subcommand():
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    assert len(readme.encode('utf-8')) < 10 * 1024
    for page in PAGES:
        assert '<!-- SECTION' not in page.read_text(encoding='utf-8'), f'{page.name}: authoring marker left'
    linked = {(ROOT / t).resolve() for t in re.findall(r'\]\((docs/[^)#\s]+)', readme)}
    assert not [p.name for p in PAGES[1:] if p.resolve() not in linked], 'docs pages the README does not link'
    section = readme.split('## Command line')[1].split('\n## ')[0]
    listed = {w for w in re.findall(r'`([\w-]+)`', section)}
    real = set(sub_parsers(cli_parser()))
    assert listed == real, (f'README "Command line" lists {sorted(listed - real)} that psp-plugin lacks and '
                            f'misses {sorted(real - listed)}; describe each sub-command there')
