"""The writing methods of ``EfdClientSync`` (a mixin).

``write`` and ``write_line_protocol`` are public; ``write_table`` is the
canonical layer (an Arrow table and explicit UTC ns row times) that the HTTP
client overrides (see :mod:`openefd.client.sync_client`). Every write is
all-or-nothing and idempotent.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from openefd.errors import ConfigurationError
from openefd.ingest.lp_batches import write_line_protocol
from openefd.ingest.writer import TableData, TopicBatch, Writer, WriteResult, table_from_data
from openefd.store.duckdb_store import Store

__all__ = ["WriteMethods"]


class WriteMethods:
    """Writes into the client's store, refused when it was opened read-only."""

    store: Store

    def _check_writable(self) -> None:
        if self.store.read_only:
            raise ConfigurationError(f"{self.store.path} was opened read-only; cannot write")

    def write(self, topic: str, data: TableData) -> WriteResult:
        """Write rows (DataFrame, Arrow table, records); all-or-nothing, idempotent."""
        self._check_writable()
        table, utc_ns = table_from_data(data, f"topic {topic!r}")
        return self.write_table(topic, table, utc_ns)

    def write_table(
        self, topic: str, table: pa.Table, utc_ns: npt.NDArray[np.int64] | None = None
    ) -> WriteResult:
        """Write an Arrow table of one topic, with explicit UTC ns row times (or None)."""
        self._check_writable()
        return Writer(self.store).write_batches([TopicBatch(topic, table, utc_ns)])

    def write_line_protocol(self, text: str, precision: str = "ns") -> WriteResult:
        """Write InfluxDB line protocol text (the EFD's layout); all-or-nothing, idempotent."""
        self._check_writable()
        return write_line_protocol(Writer(self.store), text, precision=precision)
