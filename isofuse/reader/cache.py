"""A small least-recently-used cache with a cost budget."""

import threading
from collections import OrderedDict


class LRUCache:
    """Maps keys to values; evicts the least recently used entries once the
    summed cost exceeds ``budget`` (cost defaults to len(value)).

    Safe to share between threads: a stage's disc model is built in a
    thread of its own while requests read the same lower image, and an
    eviction between a get's look-up and its move_to_end would raise
    KeyError there (failing the model's build for good)."""

    def __init__(self, budget, cost=len):
        self.budget = budget
        self._cost = cost
        self._items = OrderedDict()
        self._total = 0
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()

    def get(self, key, default=None):
        with self._lock:
            try:
                value, _ = self._items[key]
            except KeyError:
                self.misses += 1
                return default
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key, value):
        cost = self._cost(value)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._total -= old[1]
            self._items[key] = (value, cost)
            self._total += cost
            while self._total > self.budget and len(self._items) > 1:
                _, (_, evicted) = self._items.popitem(last=False)
                self._total -= evicted

    def __len__(self):
        return len(self._items)
