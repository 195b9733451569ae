"""Build hook for the package's one C extension; all other metadata lives in pyproject.toml.

`datatrainer.quality._kernels` holds the byte and row loops of text normalisation and near-duplicate
detection (see its source). The machines this project runs on have gcc and the Python headers, so
`pip install -e .` (scripts/bootstrap.sh) compiles it; it needs no NumPy headers.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("datatrainer.quality._kernels", ["src/datatrainer/quality/_kernels.c"],
                             extra_compile_args=["-O3"])])
