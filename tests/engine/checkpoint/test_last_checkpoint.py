"""The one reader of MMEngine's ``last_checkpoint`` pointer."""
import pytest

from psp_plugin.engine.checkpoint import read_last_checkpoint, require_last_checkpoint


def test_absent_empty_and_present_pointers(tmp_path):
    assert read_last_checkpoint(str(tmp_path)) is None
    (tmp_path / 'last_checkpoint').write_text('')
    assert read_last_checkpoint(str(tmp_path)) == ''
    checkpoint = tmp_path / 'iter_4.pth'
    checkpoint.write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text(f'{checkpoint}\n')
    assert read_last_checkpoint(str(tmp_path)) == str(checkpoint)
    assert require_last_checkpoint(str(tmp_path)) == str(checkpoint)


def test_require_names_the_pointer_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing was trained into .*Train first'):
        require_last_checkpoint(str(tmp_path))
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_9.pth'))
    with pytest.raises(FileNotFoundError, match='names .*iter_9.pth, which does not exist'):
        require_last_checkpoint(str(tmp_path))
