"""The node's mempool cache: identical transaction bytes are checked only once.

CometBFT remembers the hash of every transaction it has run through CheckTx,
accepted or not (dYdX sets ``KeepInvalidTxsInCache``), in an LRU cache of
``5000 x ShortBlockWindow`` entries (``protocol/cmd/dydxprotocold/cmd/config.go``).
Broadcasting the same bytes again is answered by the SDK's ``CheckCometError``
with ``sdk`` code 19 ("tx already in mempool") and no log, whatever happened
the first time: a re-broadcast never runs, and never fills, twice.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Final

from dydx_devnet.codes import SDK, TxResult

TX_IN_MEMPOOL_CACHE: Final = 19
SHORT_BLOCK_WINDOW: Final = 40
CACHE_SIZE: Final = 5000 * SHORT_BLOCK_WINDOW
ALREADY_SEEN: Final = TxResult(TX_IN_MEMPOOL_CACHE, SDK, "")


class MempoolCache:
    """Hashes of the transactions seen, least recently seen evicted first (thread-safe)."""

    def __init__(self, capacity: int = CACHE_SIZE) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, tx_hash: str) -> bool:
        """Remember ``tx_hash``; False if it was already there (the broadcast is refused)."""
        with self._lock:
            if tx_hash in self._seen:
                self._seen.move_to_end(tx_hash)
                return False
            self._seen[tx_hash] = None
            if len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
            return True
