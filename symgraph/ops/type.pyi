"""Type declarations of symgraph/ops/type.py for type checkers (mypy, pyright).

The module builds its constructors (``scalar``, ``matrix``, ``fmatrix``, ``dtensor4s``...) in
a loop; this stub names each of them with its signature. tests/test_packaging.py checks that
it lists every public name of the module.
"""
from typing import Any, Protocol, overload

from ..graph import Type
from .variable import TensorVariable

ALL_DTYPES: tuple[str, ...]
INT_DTYPES: tuple[str, ...]
FLOAT_DTYPES: tuple[str, ...]
COMPLEX_DTYPES: tuple[str, ...]
DISCRETE_DTYPES: tuple[str, ...]


def normalize_dtype(dtype: Any) -> str: ...


class Float64Warning(UserWarning): ...


class TensorType(Type):
    dtype: str
    broadcastable: tuple[bool, ...]
    ndim: int
    variable_type: type
    constant_type: type

    def __init__(self, dtype: Any, broadcastable: tuple[bool, ...] | list[bool],
                 shape: tuple[int | None, ...] | None = None) -> None: ...
    def __call__(self, name: str | None = None) -> TensorVariable: ...
    def clone(self, dtype: Any = None, broadcastable: tuple[bool, ...] | None = None) -> TensorType: ...
    def filter(self, data: Any, strict: bool = False, allow_downcast: bool | None = None,
               name: str | None = None) -> Any: ...
    def __getattr__(self, name: str) -> Any: ...


def upcast(*dtypes: Any) -> str: ...
def float_upcast(*dtypes: Any) -> str: ...
def tensor(dtype: Any = None, broadcastable: tuple[bool, ...] | list[bool] | None = None,
           name: str | None = None, shape: tuple[int | None, ...] | None = None) -> TensorVariable: ...


class _Constructor(Protocol):
    """``T.matrix('x')``, ``T.matrix('x', dtype='float32')``."""
    def __call__(self, name: str | None = None, dtype: Any = None) -> TensorVariable: ...


class _Constructors(Protocol):
    """``T.matrices('a', 'b')`` or ``T.matrices(3)``."""
    @overload
    def __call__(self, n: int, /, *, dtype: Any = None) -> list[TensorVariable]: ...
    @overload
    def __call__(self, *names: str | None, dtype: Any = None) -> list[TensorVariable]: ...

scalar: _Constructor
bscalar: _Constructor
wscalar: _Constructor
iscalar: _Constructor
lscalar: _Constructor
fscalar: _Constructor
dscalar: _Constructor
cscalar: _Constructor
zscalar: _Constructor
scalars: _Constructors
bscalars: _Constructors
wscalars: _Constructors
iscalars: _Constructors
lscalars: _Constructors
fscalars: _Constructors
dscalars: _Constructors
cscalars: _Constructors
zscalars: _Constructors
vector: _Constructor
bvector: _Constructor
wvector: _Constructor
ivector: _Constructor
lvector: _Constructor
fvector: _Constructor
dvector: _Constructor
cvector: _Constructor
zvector: _Constructor
vectors: _Constructors
bvectors: _Constructors
wvectors: _Constructors
ivectors: _Constructors
lvectors: _Constructors
fvectors: _Constructors
dvectors: _Constructors
cvectors: _Constructors
zvectors: _Constructors
row: _Constructor
brow: _Constructor
wrow: _Constructor
irow: _Constructor
lrow: _Constructor
frow: _Constructor
drow: _Constructor
crow: _Constructor
zrow: _Constructor
rows: _Constructors
brows: _Constructors
wrows: _Constructors
irows: _Constructors
lrows: _Constructors
frows: _Constructors
drows: _Constructors
crows: _Constructors
zrows: _Constructors
col: _Constructor
bcol: _Constructor
wcol: _Constructor
icol: _Constructor
lcol: _Constructor
fcol: _Constructor
dcol: _Constructor
ccol: _Constructor
zcol: _Constructor
cols: _Constructors
bcols: _Constructors
wcols: _Constructors
icols: _Constructors
lcols: _Constructors
fcols: _Constructors
dcols: _Constructors
ccols: _Constructors
zcols: _Constructors
matrix: _Constructor
bmatrix: _Constructor
wmatrix: _Constructor
imatrix: _Constructor
lmatrix: _Constructor
fmatrix: _Constructor
dmatrix: _Constructor
cmatrix: _Constructor
zmatrix: _Constructor
matrices: _Constructors
bmatrices: _Constructors
wmatrices: _Constructors
imatrices: _Constructors
lmatrices: _Constructors
fmatrices: _Constructors
dmatrices: _Constructors
cmatrices: _Constructors
zmatrices: _Constructors
tensor3: _Constructor
btensor3: _Constructor
wtensor3: _Constructor
itensor3: _Constructor
ltensor3: _Constructor
ftensor3: _Constructor
dtensor3: _Constructor
ctensor3: _Constructor
ztensor3: _Constructor
tensor3s: _Constructors
btensor3s: _Constructors
wtensor3s: _Constructors
itensor3s: _Constructors
ltensor3s: _Constructors
ftensor3s: _Constructors
dtensor3s: _Constructors
ctensor3s: _Constructors
ztensor3s: _Constructors
tensor4: _Constructor
btensor4: _Constructor
wtensor4: _Constructor
itensor4: _Constructor
ltensor4: _Constructor
ftensor4: _Constructor
dtensor4: _Constructor
ctensor4: _Constructor
ztensor4: _Constructor
tensor4s: _Constructors
btensor4s: _Constructors
wtensor4s: _Constructors
itensor4s: _Constructors
ltensor4s: _Constructors
ftensor4s: _Constructors
dtensor4s: _Constructors
ctensor4s: _Constructors
ztensor4s: _Constructors
tensor5: _Constructor
btensor5: _Constructor
wtensor5: _Constructor
itensor5: _Constructor
ltensor5: _Constructor
ftensor5: _Constructor
dtensor5: _Constructor
ctensor5: _Constructor
ztensor5: _Constructor
tensor5s: _Constructors
btensor5s: _Constructors
wtensor5s: _Constructors
itensor5s: _Constructors
ltensor5s: _Constructors
ftensor5s: _Constructors
dtensor5s: _Constructors
ctensor5s: _Constructors
ztensor5s: _Constructors
