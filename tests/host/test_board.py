"""microace_host.board.Board, the one raw-REPL driver (provisioning, deploy and the tests'
`mp` fixture): on the unix port it takes a heap size and the firmware directories, `run`
gives the whole traceback, `exec` its last line, and `alive` says when the board is gone."""

import shutil

import pytest

from microace_host.board import Board, BoardError
from microace_host.firmware import FIRMWARE
from microace_host.unix_port import proxy_binary

pytestmark = pytest.mark.skipif(not shutil.which("socat"), reason="needs socat (make socat)")


@pytest.fixture
def board(tmp_path):
    dev = Board.open("unix:%s" % tmp_path, create=True, heap="96k", firmware=FIRMWARE)
    yield dev
    dev.close()


def test_heap_and_firmware_reach_the_unix_port(board):
    total = board.eval("__import__('gc').mem_free() + __import__('gc').mem_alloc()")
    assert 90 * 1024 < total <= 96 * 1024
    if not proxy_binary():  # the board proxy has the firmware frozen in
        assert board.eval("__import__('microace.errors').errors.__file__") == str(
            FIRMWARE / "microace" / "errors.py")


def test_run_gives_output_and_the_whole_traceback(board):
    out, err = board.run("print('before')\ndef f():\n    raise ValueError('boom')\nf()")
    assert out == "before\n"
    assert "line 3, in f" in err and err.rstrip().endswith("ValueError: boom")
    assert board.run("print(6 * 7)") == ("42\n", "")
    with pytest.raises(BoardError) as exc:
        board.exec("raise KeyError('k')")
    assert exc.value.kind == "KeyError"


def test_alive_until_the_process_ends(board):
    assert board.alive()
    board.close()
    assert not board.alive()
    with pytest.raises(BoardError):
        board.run("print(1)")
