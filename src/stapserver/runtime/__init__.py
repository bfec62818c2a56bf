"""The python runtime: what a translated module needs at pass 5.

Values follow SystemTap's C runtime: a ``long`` is a Python ``int`` kept within signed
64 bits, a ``string`` is ``bytes`` (SystemTap strings are C byte strings, and MAXSTRINGLEN
counts bytes), a statistic is a :class:`stapserver.runtime.stats.Stat`.
"""
