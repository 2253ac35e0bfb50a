"""A small least-recently-used cache with a cost budget."""

from collections import OrderedDict


class LRUCache:
    """Maps keys to values; evicts the least recently used entries once the
    summed cost exceeds ``budget`` (cost defaults to len(value))."""

    def __init__(self, budget, cost=len):
        self.budget = budget
        self._cost = cost
        self._items = OrderedDict()
        self._total = 0
        self.hits = 0
        self.misses = 0

    def get(self, key, default=None):
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
