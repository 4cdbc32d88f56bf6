"""Numba kernels of flowmatch (installed as ``flowmatch.kernels``).

Pure ``@njit`` functions over arrays and scalars: no pandas, outputs allocated
by the caller, compile flags only from :mod:`flowmatch.kernels.config`. The public,
validating Python wrappers live in :mod:`flowmatch.matching.search`.
"""
