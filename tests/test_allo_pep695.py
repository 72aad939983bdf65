"""PEP 695 type parameters on regions and inferred templates, run by an interpreter >= 3.12."""
import os
import subprocess
import sys

import pytest

from .test_lang_corpus import REPO, _python312


def test_pep695_regions_and_inferred_templates():
    if sys.version_info >= (3, 12):
        from . import allo_pep695

        allo_pep695.run()
        return
    exe = _python312()
    if exe is None:
        pytest.skip("no Python >= 3.12 with mlir and numpy installed (set DSL_TEST_PY312)")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    run = subprocess.run([exe, "-c", "from tests import allo_pep695; allo_pep695.run()"], capture_output=True,
                         text=True, cwd=REPO, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["ok", "region", "ok", "template"]
