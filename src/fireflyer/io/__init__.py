"""Files in and out, for every group: input documents whose errors name the file and the field, typed
conversion through msgspec schemas, deterministic JSON, and atomic writes.

Inputs are refused once, here, for what no group accepts: anything but a regular file (FIFOs, devices,
directories; a link is followed to what it names), files over the size cap of their kind, unreadable, empty
or non-UTF-8 files, malformed JSON or YAML, duplicate keys, YAML aliases that expand past ``MAX_VALUES``,
nesting deeper than ``MAX_DEPTH``, and NaN or infinite numbers (``reading``). Outputs are refused once,
here, when they would replace an input of the same command (a file inside an input directory included),
when two outputs share a path, or when the destination is not a regular file that can be written; a
multi-file output is written into a temporary folder and moved into place whole (``writing``).
"""

from __future__ import annotations

from ..units import GiB as GiB  # re-exported: io was their home
from ..units import MiB as MiB
from ..units import format_size as format_size
from ..units import parse_size as parse_size
from .reading import LIMITS as LIMITS
from .reading import MAX_BYTES as MAX_BYTES
from .reading import MAX_DEPTH as MAX_DEPTH
from .reading import MAX_VALUES as MAX_VALUES
from .reading import check_document as check_document
from .reading import check_regular as check_regular
from .reading import convert as convert
from .reading import format_of as format_of
from .reading import load_document as load_document
from .reading import load_struct as load_struct
from .reading import parse_document as parse_document
from .reading import read_bytes as read_bytes
from .writing import atomic_dir as atomic_dir
from .writing import atomic_path as atomic_path
from .writing import atomic_write as atomic_write
from .writing import atomic_writer as atomic_writer
from .writing import check_outputs as check_outputs
from .writing import dumps_json as dumps_json
from .writing import to_builtins as to_builtins
