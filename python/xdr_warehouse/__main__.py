"""``python -m xdr_warehouse``: the same as the ``xdr`` command."""

from xdr_warehouse.cli import console

console()
