"""Parameter maps: block retrieval, where each pixel is on the water, spatial statistics,
exports.

Modules: :mod:`.settings` (a site's ``[maps]`` settings), :mod:`.geometry` (camera → water
surface), :mod:`.blocks` (block-median Rrs, retrieved), :mod:`.stats` (percentiles and
exceeded areas), :mod:`.chain` (what the pipeline calls), :mod:`.dataset` (CF datasets and
exports), :mod:`.figures` (pictures). See docs/maps.md.
"""
