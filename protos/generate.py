"""Generate the Python code for protos/signstream/v1/signstream.proto into server/v1/ (the
`signstream.v1` package), with .pyi stubs. `--check` fails if the checked-in code is not current.

    python protos/generate.py [--check]
"""
from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[1]
PROTOS = ROOT / "protos"
SOURCE = Path("signstream") / "v1" / "signstream.proto"
TARGET = ROOT / "server" / "v1"          # installed as signstream.v1
GENERATED = ("signstream_pb2.py", "signstream_pb2.pyi", "signstream_pb2_grpc.py")


def generate(out: Path) -> None:
    include = Path(protoc.__file__).parent / "_proto"
    code = protoc.main(["grpc_tools.protoc", f"-I{PROTOS}", f"-I{include}", f"--python_out={out}",
                        f"--pyi_out={out}", f"--grpc_python_out={out}", str(PROTOS / SOURCE)])
    if code != 0:
        raise SystemExit(f"protoc failed with code {code}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if server/v1 is not what protoc makes")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        made = Path(tmp) / SOURCE.parent
        if args.check:
            stale = [name for name in GENERATED
                     if not (TARGET / name).is_file() or not filecmp.cmp(made / name, TARGET / name, shallow=False)]
            if stale:
                print(f"generated code is stale: {', '.join(stale)}; run `python protos/generate.py`", file=sys.stderr)
                return 1
            return 0
        TARGET.mkdir(exist_ok=True)
        (TARGET / "__init__.py").write_text('"""Generated from protos/signstream/v1/signstream.proto by '
                                            'protos/generate.py; do not edit."""\n')
        for name in GENERATED:
            shutil.copyfile(made / name, TARGET / name)
    print(f"wrote {', '.join(GENERATED)} to {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
