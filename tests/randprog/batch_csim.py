"""csim of many kernels with one g++ run: each kernel's generated files (kernel.h, kernel.cpp and the
harness that ``dsl.build(..., mode="csim")`` writes) go into a namespace of one translation unit, whose
main() runs the harness named by argv[0]; every kernel gets a link of that name to the one binary.

``dsl.build`` itself builds every module (the real emitter, harness, data files and call path): only its
compile step is replaced, for the duration of ``collect()``, by one that records the files and returns the
path the link will have."""
from __future__ import annotations

import os
import re
import subprocess
from contextlib import contextmanager
from pathlib import Path

from dsl.backend.hls import csim


class Batch:
    def __init__(self, folder: Path, werror: bool = True):
        self.werror = werror  # False: warnings do not fail the build (to look for wrong values past them)
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.files: list = []  # (name, files dict)

    @contextmanager
    def collect(self):
        """Inside, ``dsl.build(s, target="vitis_hls", mode="csim")`` returns modules whose binary is built
        later by ``compile()``."""
        real = csim.compile_csim

        def record(files):
            name = f"p{len(self.files)}"
            self.files.append((name, dict(files)))
            return self.folder / name

        csim.compile_csim = record
        try:
            yield self
        finally:
            csim.compile_csim = real

    def source(self, skip=()) -> tuple[str, dict]:
        """The translation unit, and the first line of each program in it (for error reports)."""
        includes, parts, starts, line = [], [], {}, 1
        for name, files in self.files:
            if name in skip:
                continue
            body = []
            for part in ("kernel.h", "kernel.cpp", "harness.cpp"):
                for text in files[part].splitlines():
                    if text.startswith("#include"):
                        if '"kernel.h"' not in text and text not in includes:
                            includes.append(text)
                    else:
                        body.append(text)
            text, renamed = re.subn(r"\bint main\(", "int dsl_main(", "\n".join(body))
            assert renamed == 1, "the csim harness defines main() once"
            parts.append((name, f"namespace dsl_{name} {{\n{text}\n}}  // namespace dsl_{name}\n"))
        head = "\n".join(includes + ["#include <cstring>", ""])
        line = head.count("\n") + 1
        out = [head]
        for name, text in parts:
            starts[name] = line
            out.append(text)
            line += text.count("\n")
        starts["?"] = line  # the dispatching main() (an error there is nobody's program)
        dispatch = [f'  if (!std::strcmp(name, "{name}")) return dsl_{name}::dsl_main(argc, argv);'
                    for name, _ in self.files if name not in skip]
        out.append("\n".join([
            "int main(int argc, char **argv) {",
            "  const char *slash = std::strrchr(argv[0], '/');",
            "  const char *name = slash ? slash + 1 : argv[0];", *dispatch, "  return 3;", "}", ""]))
        return "".join(out), starts

    def compile(self) -> dict:
        """Build the binary and the links; returns {program name: g++ diagnostics} for programs that failed
        (empty when everything compiled). The others are built again without them, so they still run."""
        failed = self._build(set())
        if failed and "?" not in failed:
            again = self._build(set(failed))
            failed.update(again)
        return failed

    def _build(self, skip: set) -> dict:
        text, starts = self.source(skip)
        cpp = self.folder / "batch.cpp"
        cpp.write_text(text)
        binary = self.folder / "batch"
        cmd = [csim._cxx(), *csim._base_flags(), *csim.precompiled_header_flags(), str(cpp), "-o", str(binary)]
        if not self.werror:
            cmd.insert(-3, "-Wno-error")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            return self._blame(proc.stderr, starts)
        for name, _ in self.files:
            if name in skip:
                continue
            link = self.folder / name
            if link.exists() or link.is_symlink():
                link.unlink()
            os.symlink(binary, link)
        return {}

    def _blame(self, stderr: str, starts: dict) -> dict:
        order = sorted(starts.items(), key=lambda kv: kv[1])
        failed = {}
        for match in re.finditer(r"batch\.cpp:(\d+):\d+: error: (.*)", stderr):
            line = int(match.group(1))
            owner = next((n for n, start in reversed(order) if start <= line), "?")
            failed.setdefault(owner, []).append(match.group(0))
        return failed or {"?": [stderr[-3000:]]}
